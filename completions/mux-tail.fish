complete -c mux-tail -s n -l lines -l tail -d 'Initial lines per file: last N (default 10), +N from line N, 0 only new' -r
complete -c mux-tail -l since -d 'Start at the first line stamped at or after WHEN: 10m, 2h, 1d ago; 03:00 today; 2026-12-02 03:00; RFC 3339' -r
complete -c mux-tail -l until -d 'Show no line stamped after WHEN (the forms of --since)' -r
complete -c mux-tail -l color -d 'Colour labels: auto, always, never' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c mux-tail -l max-line-bytes -d 'Cut longer lines into pieces of this size' -r
complete -c mux-tail -l max-pending-bytes -d 'Memory for unfinished lines, all sources together' -r
complete -c mux-tail -l max-connections -d 'Open connections allowed per listener' -r
complete -c mux-tail -l allow -d 'Accept TCP and UDP senders from CIDR only (repeatable)' -r
complete -c mux-tail -l tls-cert -d 'The certificate chain (PEM) tls: listeners present' -r -F
complete -c mux-tail -l tls-key -d 'The private key (PEM) of --tls-cert' -r -F
complete -c mux-tail -l tls-client-ca -d 'Accept only TLS clients with a certificate signed by one in FILE (PEM): mutual TLS' -r -F
complete -c mux-tail -l exclude-path -d 'Leave files matching GLOB out of every glob\'s files (repeatable)' -r
complete -c mux-tail -l keys -d 'Read keys from the terminal: auto, always, never' -r -f -a "auto\t'Read keys when a terminal is reachable through /dev/tty'
always\t'Read keys; fail when there is no terminal'
never\t'Never read keys or change the terminal\'s mode'"
complete -c mux-tail -s e -l grep -d 'Keep lines matching REGEX (repeatable: any)' -r
complete -c mux-tail -s v -l exclude -d 'Drop lines matching REGEX (repeatable)' -r
complete -c mux-tail -l level -d 'Show only lines at LEVEL or above: trace, debug, info, notice, warn, error, fatal' -r -f -a "trace\t''
debug\t''
info\t''
notice\t''
warn\t''
error\t''
fatal\t''"
complete -c mux-tail -s A -l after-context -d 'Also show N lines after each line the filters keep' -r
complete -c mux-tail -s B -l before-context -d 'Also show N lines before each line the filters keep' -r
complete -c mux-tail -s C -l context -d 'Also show N lines before and after each line the filters keep' -r
complete -c mux-tail -l highlight -d 'Highlight matches of REGEX when colouring (repeatable)' -r
complete -c mux-tail -l format -d 'Lay lines out as TEMPLATE: {label} {line} {time} {ts} {peer} {source} {stream} {level} {.PATH}' -r -f
complete -c mux-tail -l multiline -d 'Group lines into events: java, python, go, indent' -r -f -a "java\t'Java and other JVM logs: exceptions, frames, causes'
python\t'Python: tracebacks, chained ones too'
go\t'Go: panics and fatal errors with their goroutine stacks'
indent\t'An indented line continues the one before'"
complete -c mux-tail -l multiline-start -d 'Group lines into events: a line matching REGEX starts one' -r
complete -c mux-tail -l multiline-timeout -d 'End an event after this long with no new line for it' -r
complete -c mux-tail -l max-event-lines -d 'The most lines in one event; beyond, it is cut' -r
complete -c mux-tail -l generate -d 'Print a man page or completion script, and exit' -r -f -a "man\t'The man page (roff)'
complete-bash\t'Completions for bash'
complete-zsh\t'Completions for zsh'
complete-fish\t'Completions for fish'
complete-powershell\t'Completions for PowerShell'
complete-elvish\t'Completions for elvish'"
complete -c mux-tail -s f -l follow -d 'Follow (the default; -F and --follow too, as tail takes them)'
complete -c mux-tail -l no-follow -d 'Read files to their current end, then stop'
complete -c mux-tail -l no-color -d 'Same as --color never'
complete -c mux-tail -l no-label -d 'Print bare lines, without labels'
complete -c mux-tail -l restart -d 'Start cmd: sources again when they exit'
complete -c mux-tail -l fixed-strings -d '-e and -v patterns are plain text, not regexes'
complete -c mux-tail -s w -l word-regexp -d '-e and -v match whole words only'
complete -c mux-tail -s x -l line-regexp -d '-e and -v match whole lines only'
complete -c mux-tail -s c -l count -d 'With --no-follow: print how many lines each source had, not the lines'
complete -c mux-tail -s i -l ignore-case -d 'Ignore case in -e, -v, --highlight and /'
complete -c mux-tail -s t -l timestamps -d 'Prefix each line with its arrival time'
complete -c mux-tail -l json -d 'One JSON object per line'
complete -c mux-tail -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mux-tail -s V -l version -d 'Print version'
complete -c mux-tail -a 'tcp: udp: unix: tls: cmd:' -d 'source kind'
complete -c mux-tail -l format -x -a "'{label} {line}' '{time} {label} {line}' '{label}|{stream}|{line}'" -d template
