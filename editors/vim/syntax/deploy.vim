" Vim syntax file for the .deploy language, with embedded Rhai.
if exists('b:current_syntax')
  finish
endif

syntax case match

" Embedded Rhai: fenced blocks and inline snippets.
syntax keyword deployRhaiKeyword contained if else switch while loop for in do until break continue return throw try catch
syntax keyword deployRhaiStorage contained let const fn private
syntax keyword deployRhaiBoolean contained true false
syntax match deployRhaiHost contained "\<\(http::\(get\|post\)\|json::\(parse\|stringify\)\|metrics::query\|semver::compare\)\>"
syntax match deployRhaiBuiltin contained "\<\(log\|print\|debug\|sleep\|fail\|inconclusive\|no_data\|env_var\)\>\ze\s*("
syntax match deployRhaiNumber contained "\<\d\+\(\.\d\+\)\=\>"
syntax match deployRhaiComment contained "//.*$"
syntax region deployRhaiString contained start=+"+ skip=+\\.+ end=+"+
syntax region deployRhaiTemplate contained start=+`\(``\)\@!+ end=+`+ contains=deployRhaiInterpolation
syntax region deployRhaiInterpolation contained matchgroup=Delimiter start=+\${+ end=+}+ contains=@deployRhai
syntax cluster deployRhai contains=deployRhaiKeyword,deployRhaiStorage,deployRhaiBoolean,deployRhaiHost,deployRhaiBuiltin,deployRhaiNumber,deployRhaiComment,deployRhaiString
syntax region deployRhaiFence matchgroup=deployFence start=+```\(rhai\)\=+ end=+```+ contains=@deployRhai,deployRhaiTemplate keepend
syntax region deployRhaiInline matchgroup=deployFence start=+`\(``\)\@!+ end=+`\|$+ oneline contains=@deployRhai

" Comments.
syntax match deployDocComment "///.*$" contains=@Spell
syntax match deployComment "//\(/\)\@!.*$" contains=@Spell
syntax region deployComment start="/\*" end="\*/" contains=@Spell

" Strings with ${interpolation}.
syntax region deployString start=+"+ skip=+\\"+ end=+"\|$+ contains=deployEscape,deployInterpolation oneline
syntax match deployEscape contained +\\\(["\\ntr$]\|u{\x\{1,6}}\)+
syntax region deployInterpolation contained matchgroup=Delimiter start=+\${+ end=+}+ contains=deployBuiltinName

" Keywords, declarations and names.
syntax keyword deployDeclaration import pipeline param secret environment template stage gate
syntax keyword deployKeyword from as run script rollback strategy on approve by check every within for
syntax keyword deployBuiltinName host version previous_version attempt env contained
syntax keyword deployStrategy all_at_once rolling canary blue_green
syntax keyword deployBoolean true false
syntax keyword deployType string int bool duration percent list
syntax match deployNodeName "\<\(stage\|gate\)\s\+\zs\h\w*"
syntax match deployEnvironmentName "\<environment\s\+\zs\h\w*"
syntax match deployAttribute "\<\h\w*\ze\s*=[^=]"

" Literals.
syntax match deployDuration "\<\(\d\+\(ms\|s\|m\|h\|d\)\)\+\>"
syntax match deployPercent "\<\d\+\(\.\d\+\)\=%"
syntax match deployNumber "-\=\<\d\+\>"

highlight default link deployComment Comment
highlight default link deployDocComment SpecialComment
highlight default link deployString String
highlight default link deployEscape SpecialChar
highlight default link deployDeclaration Keyword
highlight default link deployKeyword Statement
highlight default link deployStrategy Constant
highlight default link deployBoolean Boolean
highlight default link deployType Type
highlight default link deployNodeName Function
highlight default link deployEnvironmentName Identifier
highlight default link deployAttribute Identifier
highlight default link deployBuiltinName Special
highlight default link deployDuration Number
highlight default link deployPercent Number
highlight default link deployNumber Number
highlight default link deployFence Delimiter
highlight default link deployRhaiKeyword Conditional
highlight default link deployRhaiStorage StorageClass
highlight default link deployRhaiBoolean Boolean
highlight default link deployRhaiHost Function
highlight default link deployRhaiBuiltin Function
highlight default link deployRhaiNumber Number
highlight default link deployRhaiComment Comment
highlight default link deployRhaiString String
highlight default link deployRhaiTemplate String

let b:current_syntax = 'deploy'
