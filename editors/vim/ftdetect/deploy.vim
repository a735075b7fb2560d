" .deploy files are deployment plans.
autocmd BufRead,BufNewFile *.deploy setfiletype deploy
