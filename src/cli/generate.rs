//! `--generate`: the man page and the completion scripts, taught the SOURCE kinds.

use clap::{CommandFactory, ValueEnum};

use super::{man, Args};

/// What `--generate` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Generate {
    /// The man page (roff).
    Man,
    /// Completions for bash.
    CompleteBash,
    /// Completions for zsh.
    CompleteZsh,
    /// Completions for fish.
    CompleteFish,
    /// Completions for PowerShell.
    CompletePowershell,
    /// Completions for elvish.
    CompleteElvish,
}

impl Generate {
    /// Writes the man page or completion script.
    pub fn write(self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        use clap_complete::Shell;
        let mut cmd = Args::command();
        let shell = match self {
            Generate::Man => return man::write(cmd, out),
            Generate::CompleteBash => Shell::Bash,
            Generate::CompleteZsh => Shell::Zsh,
            Generate::CompleteFish => Shell::Fish,
            Generate::CompletePowershell => Shell::PowerShell,
            Generate::CompleteElvish => Shell::Elvish,
        };
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cmd, "mux-tail", &mut script);
        let script = String::from_utf8_lossy(&script);
        out.write_all(with_source_kinds(shell, &script).as_bytes())
    }
}

/// The kinds of SOURCE that are not file names, offered besides files.
const SOURCE_KINDS: &str = "tcp: udp: unix: tls: cmd:";

/// Teaches a generated completion script the SOURCE prefixes (`tcp:`, `cmd:` …), offered beside
/// file names, and `--format` templates instead of file names.
fn with_source_kinds(shell: clap_complete::Shell, script: &str) -> String {
    use clap_complete::Shell;
    match shell {
        Shell::Bash => format!(
            "{script}\n\
             # SOURCE kinds beside file names.\n\
             _mux__tail_sources() {{\n    \
                 _mux__tail \"$@\"\n    \
                 local cur=\"${{COMP_WORDS[COMP_CWORD]}}\" prev=\"${{COMP_WORDS[COMP_CWORD-1]}}\"\n    \
                 [[ \"$cur\" == -* || \"$prev\" == -* ]] && return 0\n    \
                 COMPREPLY+=( $(compgen -W \"{SOURCE_KINDS}\" -- \"$cur\") $(compgen -f -- \"$cur\") )\n\
             }}\n\
             complete -F _mux__tail_sources -o bashdefault -o default mux-tail\n"
        ),
        Shell::Zsh => script
            .replace(
                "LABEL=SOURCE:_default' \\",
                "LABEL=SOURCE:_mux_tail_source' \\",
            )
            .replace(
                "autoload -U is-at-least\n",
                &format!(
                    "autoload -U is-at-least\n\n\
                     # SOURCE kinds beside file names.\n\
                     _mux_tail_source() {{\n    \
                         compadd -S '' -- {SOURCE_KINDS}\n    \
                         _files\n\
                     }}\n"
                ),
            ),
        Shell::Fish => format!(
            "{script}\
             complete -c mux-tail -a '{SOURCE_KINDS}' -d 'source kind'\n\
             complete -c mux-tail -l format -x -a \"'{{label}} {{line}}' '{{time}} {{label}} {{line}}' \
             '{{label}}|{{stream}}|{{line}}'\" -d template\n"
        ),
        _ => script.to_string(),
    }
}
