-- deploy.lua: the `deploy` language server for Neovim (0.7 and later).
--
-- Copy this file to ~/.config/nvim/lua/deploy.lua and add to init.lua:
--
--   require("deploy").setup()                          -- `deploy` on PATH
--   require("deploy").setup({ cmd = { "/path/to/deploy", "lsp" } })
--
-- It registers the `deploy` filetype for *.deploy files and starts
-- `deploy lsp` for every such buffer (one server per root directory: the
-- nearest parent with .git, else the file's directory). Diagnostics, hover
-- (K), go to definition (gd / vim.lsp.buf.definition), references,
-- completion (omnifunc), formatting (vim.lsp.buf.format) and rename work
-- through Neovim's built-in client. For highlighting, add editors/vim to
-- 'runtimepath' (see editors/vim/README.md).

local M = {}

local defaults = {
  cmd = { "deploy", "lsp" },
  -- Called with (client, bufnr) once the server is attached.
  on_attach = nil,
}

local function root_of(path)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  local git = vim.fn.finddir(".git", dir .. ";")
  if git ~= "" then
    return vim.fn.fnamemodify(git, ":p:h:h")
  end
  return dir
end

local clients = {}

local function attach(opts, bufnr)
  local root = root_of(vim.api.nvim_buf_get_name(bufnr))
  local config = {
    name = "deploy",
    cmd = opts.cmd,
    root_dir = root,
    on_attach = function(client, buf)
      vim.api.nvim_buf_set_option(buf, "omnifunc", "v:lua.vim.lsp.omnifunc")
      if opts.on_attach then
        opts.on_attach(client, buf)
      end
    end,
  }
  if vim.lsp.start then
    -- Neovim 0.8+: reuses a running client with the same name and root.
    vim.lsp.start(config, { bufnr = bufnr })
    return
  end
  local id = clients[root]
  if not id or not vim.lsp.get_client_by_id(id) then
    id = vim.lsp.start_client(config)
    clients[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
end

function M.setup(user)
  local opts = vim.tbl_extend("force", defaults, user or {})
  vim.cmd([[autocmd BufRead,BufNewFile *.deploy setfiletype deploy]])
  local group = vim.api.nvim_create_augroup("deploy_lsp", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = "deploy",
    callback = function(args)
      attach(opts, args.buf)
    end,
  })
end

return M
