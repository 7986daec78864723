
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'mux-tail' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'mux-tail'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'mux-tail' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Initial lines per file: last N (default 10), +N from line N, 0 only new')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'Initial lines per file: last N (default 10), +N from line N, 0 only new')
            [CompletionResult]::new('--tail', '--tail', [CompletionResultType]::ParameterName, 'Initial lines per file: last N (default 10), +N from line N, 0 only new')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Start at the first line stamped at or after WHEN: 10m, 2h, 1d ago; 03:00 today; 2026-12-02 03:00; RFC 3339')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Show no line stamped after WHEN (the forms of --since)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour labels: auto, always, never')
            [CompletionResult]::new('--max-line-bytes', '--max-line-bytes', [CompletionResultType]::ParameterName, 'Cut longer lines into pieces of this size')
            [CompletionResult]::new('--max-pending-bytes', '--max-pending-bytes', [CompletionResultType]::ParameterName, 'Memory for unfinished lines, all sources together')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Open connections allowed per listener')
            [CompletionResult]::new('--allow', '--allow', [CompletionResultType]::ParameterName, 'Accept TCP and UDP senders from CIDR only (repeatable)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'The certificate chain (PEM) tls: listeners present')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'The private key (PEM) of --tls-cert')
            [CompletionResult]::new('--tls-client-ca', '--tls-client-ca', [CompletionResultType]::ParameterName, 'Accept only TLS clients with a certificate signed by one in FILE (PEM): mutual TLS')
            [CompletionResult]::new('--exclude-path', '--exclude-path', [CompletionResultType]::ParameterName, 'Leave files matching GLOB out of every glob''s files (repeatable)')
            [CompletionResult]::new('--keys', '--keys', [CompletionResultType]::ParameterName, 'Read keys from the terminal: auto, always, never')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Keep lines matching REGEX (repeatable: any)')
            [CompletionResult]::new('--grep', '--grep', [CompletionResultType]::ParameterName, 'Keep lines matching REGEX (repeatable: any)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Drop lines matching REGEX (repeatable)')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Drop lines matching REGEX (repeatable)')
            [CompletionResult]::new('--level', '--level', [CompletionResultType]::ParameterName, 'Show only lines at LEVEL or above: trace, debug, info, notice, warn, error, fatal')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Also show N lines after each line the filters keep')
            [CompletionResult]::new('--after-context', '--after-context', [CompletionResultType]::ParameterName, 'Also show N lines after each line the filters keep')
            [CompletionResult]::new('-B', '-B ', [CompletionResultType]::ParameterName, 'Also show N lines before each line the filters keep')
            [CompletionResult]::new('--before-context', '--before-context', [CompletionResultType]::ParameterName, 'Also show N lines before each line the filters keep')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Also show N lines before and after each line the filters keep')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Also show N lines before and after each line the filters keep')
            [CompletionResult]::new('--highlight', '--highlight', [CompletionResultType]::ParameterName, 'Highlight matches of REGEX when colouring (repeatable)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Lay lines out as TEMPLATE: {label} {line} {time} {ts} {peer} {source} {stream} {level} {.PATH}')
            [CompletionResult]::new('--multiline', '--multiline', [CompletionResultType]::ParameterName, 'Group lines into events: java, python, go, indent')
            [CompletionResult]::new('--multiline-start', '--multiline-start', [CompletionResultType]::ParameterName, 'Group lines into events: a line matching REGEX starts one')
            [CompletionResult]::new('--multiline-timeout', '--multiline-timeout', [CompletionResultType]::ParameterName, 'End an event after this long with no new line for it')
            [CompletionResult]::new('--max-event-lines', '--max-event-lines', [CompletionResultType]::ParameterName, 'The most lines in one event; beyond, it is cut')
            [CompletionResult]::new('--generate', '--generate', [CompletionResultType]::ParameterName, 'Print a man page or completion script, and exit')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Follow (the default; -F and --follow too, as tail takes them)')
            [CompletionResult]::new('--follow', '--follow', [CompletionResultType]::ParameterName, 'Follow (the default; -F and --follow too, as tail takes them)')
            [CompletionResult]::new('--no-follow', '--no-follow', [CompletionResultType]::ParameterName, 'Read files to their current end, then stop')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Same as --color never')
            [CompletionResult]::new('--no-label', '--no-label', [CompletionResultType]::ParameterName, 'Print bare lines, without labels')
            [CompletionResult]::new('--restart', '--restart', [CompletionResultType]::ParameterName, 'Start cmd: sources again when they exit')
            [CompletionResult]::new('--fixed-strings', '--fixed-strings', [CompletionResultType]::ParameterName, '-e and -v patterns are plain text, not regexes')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, '-e and -v match whole words only')
            [CompletionResult]::new('--word-regexp', '--word-regexp', [CompletionResultType]::ParameterName, '-e and -v match whole words only')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, '-e and -v match whole lines only')
            [CompletionResult]::new('--line-regexp', '--line-regexp', [CompletionResultType]::ParameterName, '-e and -v match whole lines only')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'With --no-follow: print how many lines each source had, not the lines')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'With --no-follow: print how many lines each source had, not the lines')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Ignore case in -e, -v, --highlight and /')
            [CompletionResult]::new('--ignore-case', '--ignore-case', [CompletionResultType]::ParameterName, 'Ignore case in -e, -v, --highlight and /')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Prefix each line with its arrival time')
            [CompletionResult]::new('--timestamps', '--timestamps', [CompletionResultType]::ParameterName, 'Prefix each line with its arrival time')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per line')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
