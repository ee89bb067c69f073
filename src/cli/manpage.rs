//! `liverec man`: the manual page, generated from the same clap definitions as `--help` and
//! the shell completions, so the three cannot disagree. One page for the whole tool (a handful
//! of commands reads better in one `man liverec` than in a page each); every visible command,
//! including those added later, gets its section from its definition.

use clap::{Arg, Command};
use clap_mangen::roff::{Inline, Roff, bold, italic, roman};

use crate::build_info;
use crate::config::keys::KEYS;

/// The page as roff source (what `man` reads, gzipped, from /usr/share/man/man1/liverec.1.gz).
pub(crate) fn render(mut cmd: Command) -> std::io::Result<Vec<u8>> {
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone())
        .title("LIVEREC")
        .date(build_info::COMMIT_DATE)
        .source(format!("liverec {}", build_info::VERSION))
        .manual("liverec manual");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    commands_section(&cmd).to_writer(&mut out)?;
    config_section().to_writer(&mut out)?;
    fixed_sections().to_writer(&mut out)?;
    Ok(once_preamble(out))
}

/// Each roff rendered on its own starts with the same two-line string definition; the page
/// needs it once.
fn once_preamble(page: Vec<u8>) -> Vec<u8> {
    const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";
    let text = String::from_utf8_lossy(&page);
    let Some(first) = text.find(PREAMBLE) else {
        return page;
    };
    let head_end = first + PREAMBLE.len();
    let mut out = text[..head_end].to_string();
    out.push_str(&text[head_end..].replace(PREAMBLE, ""));
    out.into_bytes()
}

/// Commands a user types: not hidden ones and not clap's `help`.
fn visible_commands(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

/// Arguments worth documenting: not hidden, not the `-h` every command has (OPTIONS above).
fn documented_args(cmd: &Command) -> impl Iterator<Item = &Arg> {
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set() && a.get_id().as_str() != "help")
}

fn commands_section(cmd: &Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    for sub in visible_commands(cmd) {
        roff.control("SS", [sub.get_name()]);
        roff.text(synopsis(cmd.get_name(), sub));
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            roff.control("PP", []);
            paragraphs(&mut roff, &about.to_string());
        }
        for arg in documented_args(sub) {
            roff.control("TP", []);
            roff.text(arg_header(arg));
            let mut body = Vec::new();
            if let Some(help) = arg.get_long_help().or_else(|| arg.get_help()) {
                body.push(roman(help.to_string()));
            }
            if let Some(extra) = defaults_and_values(arg) {
                if !body.is_empty() {
                    body.push(roman(" "));
                }
                body.push(roman(extra));
            }
            roff.text(body);
        }
    }
    roff
}

/// `liverec probe [-c FILE] [--show-urls] URL`.
fn synopsis(program: &str, sub: &Command) -> Vec<Inline> {
    let mut line = vec![bold(format!("{program} {}", sub.get_name()))];
    for arg in documented_args(sub).filter(|a| !a.is_positional()) {
        let flag = match (arg.get_short(), arg.get_long()) {
            (Some(short), _) => format!("-{short}"),
            (None, Some(long)) => format!("--{long}"),
            (None, None) => continue,
        };
        line.push(roman(" ["));
        line.push(bold(flag));
        if takes_value(arg) {
            line.push(roman(" "));
            line.push(italic(value_name(arg)));
        }
        line.push(roman("]"));
    }
    for arg in documented_args(sub).filter(|a| a.is_positional()) {
        let mut name = value_name(arg);
        if arg.get_num_args().is_some_and(|n| n.max_values() > 1) {
            name.push_str("...");
        }
        line.push(roman(" "));
        if arg.is_required_set() {
            line.push(italic(name));
        } else {
            line.push(roman("["));
            line.push(italic(name));
            line.push(roman("]"));
        }
    }
    line
}

fn arg_header(arg: &Arg) -> Vec<Inline> {
    if arg.is_positional() {
        return vec![italic(value_name(arg))];
    }
    let mut header = vec![bold(flag_names(arg))];
    if takes_value(arg) {
        header.push(roman(" "));
        header.push(italic(value_name(arg)));
    }
    header
}

/// `-c, --config`.
fn flag_names(arg: &Arg) -> String {
    let short = arg.get_short().map(|s| format!("-{s}"));
    let long = arg.get_long().map(|l| format!("--{l}"));
    [short, long]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_num_args().is_some_and(|n| n.takes_values())
}

fn value_name(arg: &Arg) -> String {
    arg.get_value_names()
        .and_then(|names| names.first())
        .map(|n| n.to_string())
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase())
}

/// `[default: recorder.toml]`, `[possible values: bash, zsh, fish]`, as `--help` shows them.
fn defaults_and_values(arg: &Arg) -> Option<String> {
    let mut parts = Vec::new();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && takes_value(arg) {
        parts.push(format!("[default: {}]", defaults.join(", ")));
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !values.is_empty() && takes_value(arg) {
        parts.push(format!("[possible values: {}]", values.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// Text with blank lines between paragraphs, as clap's long help is written.
fn paragraphs(roff: &mut Roff, text: &str) {
    for line in text.lines() {
        if line.trim().is_empty() {
            roff.control("PP", []);
        } else {
            roff.text([roman(line)]);
        }
    }
}

/// Every config key, from the same table that gives `liverec check` and the daemon their
/// defaults: where it is written, its default, when a reloaded value takes effect.
fn config_section() -> Roff {
    let plain = |s: &str| s.replace('`', "");
    let mut roff = Roff::new();
    roff.control("SH", ["CONFIGURATION"]);
    roff.text([roman(
        "The keys of the config file. Durations are written \"30s\", \"1h30m\"; sizes \"512MiB\", \"2GB\". A key in [[rooms]] overrides the same key at the top level or in the room's [platforms.*] section. liverec check prints the effective values.",
    )]);
    for k in KEYS {
        let scopes: Vec<String> = k.scopes().iter().map(|s| plain(s.doc())).collect();
        roff.control("TP", []);
        roff.text([bold(k.path())]);
        roff.text([roman(format!(
            "{}. Default: {}. Where: {}. A change applies: {}.",
            k.doc(),
            plain(&k.default_doc()),
            scopes.join(", "),
            k.applies().doc()
        ))]);
    }
    roff
}

/// What the clap definitions cannot say: files, environment, signals, exit codes.
fn fixed_sections() -> Roff {
    let mut roff = Roff::new();
    let entries = |roff: &mut Roff, heading: &str, items: &[(&str, &str)]| {
        roff.control("SH", [heading]);
        for (term, text) in items {
            roff.control("TP", []);
            roff.text([bold(*term)]);
            roff.text([roman(*text)]);
        }
    };
    entries(
        &mut roff,
        "FILES",
        &[
            (
                "/etc/liverec/recorder.toml",
                "The config the packaged service runs with (a TOML file; every key is commented in it). Check it with liverec check -c /etc/liverec/recorder.toml; saving it reloads the daemon.",
            ),
            (
                "/var/lib/liverec",
                "The service's home: recordings/ and state/ (hook journal, segment records, room locks) in the packaged config.",
            ),
            (
                "/usr/lib/systemd/system/liverec.service",
                "The systemd unit: runs liverec run as the liverec user after liverec check passes. Start it with systemctl enable --now liverec.",
            ),
        ],
    );
    entries(
        &mut roff,
        "ENVIRONMENT",
        &[
            (
                "RUST_LOG",
                "Log levels, per target: info (the default), debug, info,liverec=debug.",
            ),
            (
                "LIVEREC_WORKERS",
                "Worker threads of the network runtime (default 1); 2 helps with hundreds of rooms over TLS.",
            ),
        ],
    );
    entries(
        &mut roff,
        "SIGNALS",
        &[
            (
                "SIGTERM, SIGINT",
                "Stop gracefully: open segments are closed and renamed within shutdown_timeout. A second signal exits at once.",
            ),
            (
                "SIGHUP",
                "Reload the config (systemctl reload liverec). An invalid file is rejected and the running config stays.",
            ),
        ],
    );
    entries(
        &mut roff,
        "EXIT STATUS",
        &[
            (
                "0",
                "Success (run: a clean stop; check: the config is valid).",
            ),
            ("1", "Any other failure (status: no daemon answered)."),
            (
                "2",
                "The config is invalid; every problem was printed with file, line, key and reason.",
            ),
        ],
    );
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "systemctl(1), journalctl(1), and the README shipped in /usr/share/doc/liverec.",
    )]);
    roff
}
