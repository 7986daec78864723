
use builtin;
use str;

set edit:completion:arg-completer[mux-tail] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'mux-tail'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'mux-tail'= {
            cand -n 'Initial lines per file: last N (default 10), +N from line N, 0 only new'
            cand --lines 'Initial lines per file: last N (default 10), +N from line N, 0 only new'
            cand --tail 'Initial lines per file: last N (default 10), +N from line N, 0 only new'
            cand --since 'Start at the first line stamped at or after WHEN: 10m, 2h, 1d ago; 03:00 today; 2026-12-02 03:00; RFC 3339'
            cand --until 'Show no line stamped after WHEN (the forms of --since)'
            cand --color 'Colour labels: auto, always, never'
            cand --max-line-bytes 'Cut longer lines into pieces of this size'
            cand --max-pending-bytes 'Memory for unfinished lines, all sources together'
            cand --max-connections 'Open connections allowed per listener'
            cand --allow 'Accept TCP and UDP senders from CIDR only (repeatable)'
            cand --tls-cert 'The certificate chain (PEM) tls: listeners present'
            cand --tls-key 'The private key (PEM) of --tls-cert'
            cand --tls-client-ca 'Accept only TLS clients with a certificate signed by one in FILE (PEM): mutual TLS'
            cand --exclude-path 'Leave files matching GLOB out of every glob''s files (repeatable)'
            cand --keys 'Read keys from the terminal: auto, always, never'
            cand -e 'Keep lines matching REGEX (repeatable: any)'
            cand --grep 'Keep lines matching REGEX (repeatable: any)'
            cand -v 'Drop lines matching REGEX (repeatable)'
            cand --exclude 'Drop lines matching REGEX (repeatable)'
            cand --level 'Show only lines at LEVEL or above: trace, debug, info, notice, warn, error, fatal'
            cand -A 'Also show N lines after each line the filters keep'
            cand --after-context 'Also show N lines after each line the filters keep'
            cand -B 'Also show N lines before each line the filters keep'
            cand --before-context 'Also show N lines before each line the filters keep'
            cand -C 'Also show N lines before and after each line the filters keep'
            cand --context 'Also show N lines before and after each line the filters keep'
            cand --highlight 'Highlight matches of REGEX when colouring (repeatable)'
            cand --format 'Lay lines out as TEMPLATE: {label} {line} {time} {ts} {peer} {source} {stream} {level} {.PATH}'
            cand --multiline 'Group lines into events: java, python, go, indent'
            cand --multiline-start 'Group lines into events: a line matching REGEX starts one'
            cand --multiline-timeout 'End an event after this long with no new line for it'
            cand --max-event-lines 'The most lines in one event; beyond, it is cut'
            cand --generate 'Print a man page or completion script, and exit'
            cand -f 'Follow (the default; -F and --follow too, as tail takes them)'
            cand --follow 'Follow (the default; -F and --follow too, as tail takes them)'
            cand --no-follow 'Read files to their current end, then stop'
            cand --no-color 'Same as --color never'
            cand --no-label 'Print bare lines, without labels'
            cand --restart 'Start cmd: sources again when they exit'
            cand --fixed-strings '-e and -v patterns are plain text, not regexes'
            cand -w '-e and -v match whole words only'
            cand --word-regexp '-e and -v match whole words only'
            cand -x '-e and -v match whole lines only'
            cand --line-regexp '-e and -v match whole lines only'
            cand -c 'With --no-follow: print how many lines each source had, not the lines'
            cand --count 'With --no-follow: print how many lines each source had, not the lines'
            cand -i 'Ignore case in -e, -v, --highlight and /'
            cand --ignore-case 'Ignore case in -e, -v, --highlight and /'
            cand -t 'Prefix each line with its arrival time'
            cand --timestamps 'Prefix each line with its arrival time'
            cand --json 'One JSON object per line'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
