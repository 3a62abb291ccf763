// Linux-style kernel command line parsing (what QEMU passes with `-append`).
//
// The line is split into words the way Linux's `next_arg()` does it: words are
// separated by ASCII whitespace, double quotes group text containing spaces
// and are stripped from the edges of a key or value (`key="a b"` and
// `"key=a b"` both give key `key`, value `a b`). A lone `--` ends the kernel
// part; everything after it is handed to init as argv. Before `--`, words the
// kernel understands (see [`KNOWN`], plus any key containing a '.') are kept by
// the kernel, other bare words become init's argv and other `key=value` words
// become init's environment.
//
// Nothing here allocates: every accessor re-scans the borrowed string.

/// Words the kernel consumes itself; they are never passed on to init.
///
/// Any key containing a '.' (module-style parameters such as `ktest.filter=x`)
/// is treated as known as well. Further words can be added per call site with
/// [`Cmdline::parse_with_known`].
pub const KNOWN: &[&str] = &[
    "console", "loglevel", "quiet", "debug", "panic", "init", "rdinit", "root", "ro", "rw",
];

/// Log level selected by `debug`.
pub const LOGLEVEL_DEBUG: u8 = 7;
/// Log level selected by `quiet`.
pub const LOGLEVEL_QUIET: u8 = 4;
/// Highest valid `loglevel=` value.
pub const LOGLEVEL_MAX: u8 = 7;

/// Separator characters between words (Linux `isspace()` on ASCII).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// One word of the command line, with quotes already removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word<'a> {
    /// The part before the first `=` (or the whole word if there is none).
    pub key: &'a str,
    /// The part after the first `=`, if there was one.
    pub value: Option<&'a str>,
    raw: &'a str,
    joined: Option<&'a str>,
}

impl<'a> Word<'a> {
    /// Splits one whitespace-delimited token into key and value, following
    /// Linux's `next_arg()` quote rules.
    fn from_token(raw: &'a str) -> Word<'a> {
        let (quoted, t) = match raw.strip_prefix('"') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        // Like Linux, an '=' in the very first position does not split.
        let eq = t
            .char_indices()
            .skip(1)
            .find(|&(_, c)| c == '=')
            .map(|(i, _)| i);
        let Some(eq) = eq else {
            let key = if quoted {
                t.strip_suffix('"').unwrap_or(t)
            } else {
                t
            };
            return Word {
                key,
                value: None,
                raw,
                joined: Some(key),
            };
        };
        let (key, after) = t.split_at_checked(eq).unwrap_or((t, ""));
        let val = after.strip_prefix('=').unwrap_or(after);
        let (value_quoted, val) = match val.strip_prefix('"') {
            Some(v) => (true, v),
            None => (false, val),
        };
        // Linux removes at most one trailing quote, for either kind of quoting.
        let val = if quoted || value_quoted {
            val.strip_suffix('"').unwrap_or(val)
        } else {
            val
        };
        // `key=value` is still one contiguous slice unless a quote sat right
        // after the '='; then it could only be rebuilt by copying.
        let joined = if value_quoted {
            None
        } else {
            t.get(..key.len().saturating_add(1).saturating_add(val.len()))
        };
        Word {
            key,
            value: Some(val),
            raw,
            joined,
        }
    }

    /// The token exactly as it appeared on the command line, quotes included.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// The word as Linux hands it to init: `key` or `key=value`, unquoted.
    ///
    /// For the `key="value"` form the unquoted text is not contiguous in the
    /// borrowed string, so without a heap the raw token (with its quotes) is
    /// returned instead; use [`Word::key`] and [`Word::value`] to rebuild it.
    pub fn text(&self) -> &'a str {
        self.joined.unwrap_or(self.raw)
    }

    /// Whether this is the `--` separator.
    pub fn is_dashes(&self) -> bool {
        self.value.is_none() && self.key == "--"
    }
}

/// Iterator over the words of (part of) a command line.
#[derive(Clone, Debug)]
pub struct Words<'a> {
    rest: &'a str,
}

impl<'a> Words<'a> {
    /// Iterates over every word of `s`, including any `--`.
    pub fn new(s: &'a str) -> Words<'a> {
        Words { rest: s }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = Word<'a>;

    fn next(&mut self) -> Option<Word<'a>> {
        let s = self.rest.trim_start_matches(is_space);
        let mut in_quote = false;
        let mut end = s.len();
        for (i, c) in s.char_indices() {
            if c == '"' {
                in_quote = !in_quote;
            } else if !in_quote && is_space(c) {
                end = i;
                break;
            }
        }
        let (token, rest) = s.split_at_checked(end).unwrap_or((s, ""));
        self.rest = rest;
        if token.is_empty() {
            None
        } else {
            Some(Word::from_token(token))
        }
    }
}

/// A parsed kernel command line. Borrows the raw string; never allocates.
#[derive(Clone, Copy, Debug)]
pub struct Cmdline<'a> {
    raw: &'a str,
    /// Text before the `--` separator (or everything if there is none).
    kernel: &'a str,
    /// Text after the `--` separator, if there was one.
    after_dashes: Option<&'a str>,
    extra_known: &'a [&'a str],
}

impl<'a> Cmdline<'a> {
    /// Parses `raw`. Never fails: anything odd is simply treated as a word.
    pub fn parse(raw: &'a str) -> Cmdline<'a> {
        Self::parse_with_known(raw, &[])
    }

    /// Like [`Cmdline::parse`], but `extra_known` words (e.g. `trace`) are
    /// also consumed by the kernel and hidden from init, on top of [`KNOWN`].
    pub fn parse_with_known(raw: &'a str, extra_known: &'a [&'a str]) -> Cmdline<'a> {
        let mut words = Words::new(raw);
        loop {
            let before = words.rest;
            match words.next() {
                None => {
                    return Cmdline {
                        raw,
                        kernel: raw,
                        after_dashes: None,
                        extra_known,
                    };
                }
                Some(w) if w.is_dashes() => {
                    let consumed = raw.len().saturating_sub(before.len());
                    return Cmdline {
                        raw,
                        kernel: raw.get(..consumed).unwrap_or(raw),
                        after_dashes: Some(words.rest),
                        extra_known,
                    };
                }
                Some(_) => {}
            }
        }
    }

    /// The unparsed command line.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// Words before `--` (the part the kernel looks at).
    pub fn words(&self) -> Words<'a> {
        Words::new(self.kernel)
    }

    /// Words after `--` (all of them go to init's argv).
    pub fn words_after_dashes(&self) -> Words<'a> {
        Words::new(self.after_dashes.unwrap_or(""))
    }

    /// Whether a `--` separator was present.
    pub fn has_dashes(&self) -> bool {
        self.after_dashes.is_some()
    }

    /// Whether the kernel consumes a word with this key.
    pub fn is_known(&self, key: &str) -> bool {
        key.contains('.') || KNOWN.contains(&key) || self.extra_known.contains(&key)
    }

    /// Value of the last `key=value` before `--`, quotes removed.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.get_all(key).last()
    }

    /// Values of every `key=value` before `--`, in order.
    pub fn get_all<'k>(&self, key: &'k str) -> impl Iterator<Item = &'a str> + use<'a, 'k> {
        self.words()
            .filter(move |w| w.key == key)
            .filter_map(|w| w.value)
    }

    /// Whether `word` appears as a bare word (no `=`) before `--`.
    pub fn has_flag(&self, word: &str) -> bool {
        self.words().any(|w| w.value.is_none() && w.key == word)
    }

    /// `console=` (the last one; `ttyS0,115200` stays as one string).
    pub fn console(&self) -> Option<&'a str> {
        self.get("console").filter(|v| !v.is_empty())
    }

    /// Every non-empty `console=` value, in order (Linux allows several).
    pub fn consoles(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.get_all("console").filter(|v| !v.is_empty())
    }

    /// Console log level.
    ///
    /// If `loglevel=` is given, its last value decides: `Some(N)` for N in
    /// 0..=7, `None` for anything else. Otherwise the later of `debug`
    /// (`Some(7)`) and `quiet` (`Some(4)`) wins; with neither it is `None`.
    pub fn loglevel(&self) -> Option<u8> {
        if let Some(v) = self.get("loglevel") {
            return v
                .parse::<u8>()
                .ok()
                .filter(|&n| n <= LOGLEVEL_MAX && !v.starts_with('+'));
        }
        self.words()
            .filter(|w| w.value.is_none())
            .filter_map(|w| match w.key {
                "debug" => Some(LOGLEVEL_DEBUG),
                "quiet" => Some(LOGLEVEL_QUIET),
                _ => None,
            })
            .last()
    }

    /// `panic=N`: 0 (default, also for unparsable values) hangs, a negative
    /// value reboots at once, a positive one reboots after N seconds.
    pub fn panic_timeout(&self) -> i64 {
        self.get("panic")
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
    }

    /// `init=` (path of the first user program), if given and non-empty.
    pub fn init(&self) -> Option<&'a str> {
        self.get("init").filter(|v| !v.is_empty())
    }

    /// `rdinit=` (init inside the initramfs), if given and non-empty.
    pub fn rdinit(&self) -> Option<&'a str> {
        self.get("rdinit").filter(|v| !v.is_empty())
    }

    /// Arguments for init (its argv without argv[0]): unknown bare words
    /// before `--`, then every word after `--` (see [`Word::text`]).
    pub fn init_args(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let this = *self;
        self.words()
            .filter(move |w| w.value.is_none() && !this.is_known(w.key))
            .map(|w| w.key)
            .chain(self.words_after_dashes().map(|w| w.text()))
    }

    /// Environment for init: unknown `key=value` words before `--`, as
    /// `"key=value"` strings (see [`Word::text`] for the `key="v"` caveat).
    pub fn init_env(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.init_env_words().map(|w| w.text())
    }

    /// Environment for init as `(key, value)` pairs with quotes removed.
    pub fn init_env_pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + use<'a> {
        self.init_env_words()
            .filter_map(|w| w.value.map(|v| (w.key, v)))
    }

    fn init_env_words(&self) -> impl Iterator<Item = Word<'a>> + use<'a> {
        let this = *self;
        self.words()
            .filter(move |w| w.value.is_some() && !this.is_known(w.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<(&str, Option<&str>)> {
        Words::new(s).map(|w| (w.key, w.value)).collect()
    }

    fn args<'a>(c: &Cmdline<'a>) -> Vec<&'a str> {
        c.init_args().collect()
    }

    fn env<'a>(c: &Cmdline<'a>) -> Vec<&'a str> {
        c.init_env().collect()
    }

    #[test]
    fn empty_and_whitespace_only() {
        for s in ["", "   ", "\t\n \r"] {
            let c = Cmdline::parse(s);
            assert_eq!(c.raw(), s);
            assert_eq!(c.words().count(), 0);
            assert!(args(&c).is_empty());
            assert!(env(&c).is_empty());
            assert_eq!(c.console(), None);
            assert_eq!(c.loglevel(), None);
            assert_eq!(c.panic_timeout(), 0);
            assert_eq!(c.init(), None);
            assert!(!c.has_dashes());
        }
    }

    #[test]
    fn splits_on_all_whitespace() {
        assert_eq!(
            words(" a\tb=1\n\nc \r d "),
            vec![("a", None), ("b", Some("1")), ("c", None), ("d", None)]
        );
    }

    #[test]
    fn quoted_values() {
        assert_eq!(
            words(r#"key="a b" x"#),
            vec![("key", Some("a b")), ("x", None)]
        );
        assert_eq!(
            words(r#""key=a b" x"#),
            vec![("key", Some("a b")), ("x", None)]
        );
        assert_eq!(
            words(r#""just words" y"#),
            vec![("just words", None), ("y", None)]
        );
        // Quotes in the middle are kept, as in Linux.
        assert_eq!(words(r#"k=a"b c"d"#), vec![("k", Some(r#"a"b c"d"#))]);
        // Empty quoted value.
        assert_eq!(words(r#"k="""#), vec![("k", Some(""))]);
        assert_eq!(words(r#"k=""#), vec![("k", Some(""))]);
        assert_eq!(words(r#"""#), vec![("", None)]);
    }

    #[test]
    fn unterminated_quote_runs_to_end() {
        assert_eq!(
            words(r#"a k="b c d"#),
            vec![("a", None), ("k", Some("b c d"))]
        );
        let c = Cmdline::parse(r#"init="/bin/my sh"#);
        assert_eq!(c.init(), Some("/bin/my sh"));
    }

    #[test]
    fn equals_handling() {
        assert_eq!(words("a=b=c"), vec![("a", Some("b=c"))]);
        assert_eq!(words("k="), vec![("k", Some(""))]);
        // A leading '=' does not split (Linux behaviour).
        assert_eq!(words("=x"), vec![("=x", None)]);
        assert_eq!(words("=x=y"), vec![("=x", Some("y"))]);
    }

    #[test]
    fn non_ascii_is_fine() {
        let c = Cmdline::parse("héllo=wörld ünï \"ä ö\"");
        assert_eq!(c.get("héllo"), Some("wörld"));
        assert_eq!(args(&c), vec!["ünï", "ä ö"]);
    }

    #[test]
    fn get_last_wins_and_stops_at_dashes() {
        let c = Cmdline::parse("console=ttyS0 foo=1 console=ttyS1,115200 -- console=tty0 foo=2");
        assert_eq!(c.console(), Some("ttyS1,115200"));
        assert_eq!(
            c.consoles().collect::<Vec<_>>(),
            vec!["ttyS0", "ttyS1,115200"]
        );
        assert_eq!(c.get("foo"), Some("1"));
        assert_eq!(c.get("nope"), None);
        assert!(c.has_dashes());
    }

    #[test]
    fn get_unquotes() {
        let c = Cmdline::parse(r#"console="ttyS0,115200" "init=/sbin/my init""#);
        assert_eq!(c.console(), Some("ttyS0,115200"));
        assert_eq!(c.init(), Some("/sbin/my init"));
    }

    #[test]
    fn flags() {
        let c = Cmdline::parse("ro quiet x=1 -- rw single");
        assert!(c.has_flag("ro"));
        assert!(c.has_flag("quiet"));
        assert!(!c.has_flag("x")); // has a value
        assert!(!c.has_flag("rw")); // after --
        assert!(!c.has_flag("single"));
        assert!(!c.has_flag("qui"));
    }

    #[test]
    fn loglevel_rules() {
        let ll = |s| Cmdline::parse(s).loglevel();
        assert_eq!(ll(""), None);
        assert_eq!(ll("loglevel=3"), Some(3));
        assert_eq!(ll("loglevel=0"), Some(0));
        assert_eq!(ll("loglevel=7"), Some(7));
        assert_eq!(ll("loglevel=8"), None);
        assert_eq!(ll("loglevel=-1"), None);
        assert_eq!(ll("loglevel=+3"), None);
        assert_eq!(ll("loglevel=abc"), None);
        assert_eq!(ll("loglevel="), None);
        assert_eq!(ll("loglevel=300"), None);
        assert_eq!(ll("quiet"), Some(4));
        assert_eq!(ll("debug"), Some(7));
        // loglevel= beats quiet/debug regardless of order.
        assert_eq!(ll("quiet loglevel=6"), Some(6));
        assert_eq!(ll("loglevel=6 quiet"), Some(6));
        assert_eq!(ll("debug loglevel=2"), Some(2));
        // Between quiet and debug, the later one wins.
        assert_eq!(ll("quiet debug"), Some(7));
        assert_eq!(ll("debug quiet"), Some(4));
        // Last loglevel= wins.
        assert_eq!(ll("loglevel=1 loglevel=5"), Some(5));
        // After -- nothing counts.
        assert_eq!(ll("-- quiet loglevel=1"), None);
        // quiet=1 is not the bare flag.
        assert_eq!(ll("quiet=1"), None);
    }

    #[test]
    fn panic_timeout_values() {
        let p = |s| Cmdline::parse(s).panic_timeout();
        assert_eq!(p(""), 0);
        assert_eq!(p("panic=10"), 10);
        assert_eq!(p("panic=-1"), -1);
        assert_eq!(p("panic=0"), 0);
        assert_eq!(p("panic=abc"), 0);
        assert_eq!(p("panic=99999999999999999999999"), 0);
        assert_eq!(p("panic=5 panic=-1"), -1);
        assert_eq!(p("panic"), 0);
        assert_eq!(p("-- panic=3"), 0);
    }

    #[test]
    fn init_and_rdinit() {
        let c = Cmdline::parse("init=/sbin/init rdinit=/init");
        assert_eq!(c.init(), Some("/sbin/init"));
        assert_eq!(c.rdinit(), Some("/init"));
        let c = Cmdline::parse("init= rdinit");
        assert_eq!(c.init(), None);
        assert_eq!(c.rdinit(), None);
    }

    #[test]
    fn unknown_words_go_to_init() {
        let c = Cmdline::parse(
            "console=ttyS0 root=/dev/vda ro single HOME=/root TERM=linux quiet emergency",
        );
        assert_eq!(args(&c), vec!["single", "emergency"]);
        assert_eq!(env(&c), vec!["HOME=/root", "TERM=linux"]);
        assert_eq!(
            c.init_env_pairs().collect::<Vec<_>>(),
            vec![("HOME", "/root"), ("TERM", "linux")]
        );
    }

    #[test]
    fn known_words_hidden_even_with_values() {
        let c = Cmdline::parse("rw=1 debug=x init=/a rdinit=/b panic=1 loglevel=3 root=x ro");
        assert!(args(&c).is_empty());
        assert!(env(&c).is_empty());
    }

    #[test]
    fn dotted_keys_hidden() {
        let c = Cmdline::parse("ktest.filter=x foo.bar=1 a.b plain=1 x=a.b");
        assert_eq!(c.get("ktest.filter"), Some("x"));
        assert_eq!(c.get("foo.bar"), Some("1"));
        assert!(c.has_flag("a.b"));
        assert!(args(&c).is_empty());
        // Only a dot in the key counts, not one in the value.
        assert_eq!(env(&c), vec!["plain=1", "x=a.b"]);
    }

    #[test]
    fn dashes_send_everything_to_argv() {
        let c = Cmdline::parse("a B=1 console=x -- c console=y D=2 -- quiet");
        assert_eq!(args(&c), vec!["a", "c", "console=y", "D=2", "--", "quiet"]);
        assert_eq!(env(&c), vec!["B=1"]);
        assert_eq!(c.console(), Some("x"));
        assert!(!c.has_flag("quiet"));
    }

    #[test]
    fn dashes_edge_cases() {
        // Trailing -- with nothing after it.
        let c = Cmdline::parse("x --");
        assert!(c.has_dashes());
        assert_eq!(args(&c), vec!["x"]);
        // Leading --.
        let c = Cmdline::parse("-- init=/x");
        assert_eq!(c.init(), None);
        assert_eq!(args(&c), vec!["init=/x"]);
        // Not a lone -- : ordinary words.
        let c = Cmdline::parse("--x ---  --=1 a--");
        assert!(!c.has_dashes());
        assert_eq!(args(&c), vec!["--x", "---", "a--"]);
        assert_eq!(env(&c), vec!["--=1"]);
        // Quoted "--" is still the separator, as in Linux.
        let c = Cmdline::parse(r#"a "--" b"#);
        assert!(c.has_dashes());
        assert_eq!(args(&c), vec!["a", "b"]);
        // Separator glued to whitespace variants.
        let c = Cmdline::parse("a\t--\nb");
        assert_eq!(args(&c), vec!["a", "b"]);
    }

    #[test]
    fn quoted_words_to_init() {
        let c = Cmdline::parse(r#""hello world" "A=x y" B="p q" -- "one two" "K=v w" L="m n""#);
        assert_eq!(
            args(&c),
            vec!["hello world", "one two", "K=v w", r#"L="m n""#]
        );
        // `"A=x y"` can be handed out unquoted; `B="p q"` only raw.
        assert_eq!(env(&c), vec!["A=x y", r#"B="p q""#]);
        assert_eq!(
            c.init_env_pairs().collect::<Vec<_>>(),
            vec![("A", "x y"), ("B", "p q")]
        );
    }

    #[test]
    fn extra_known_words() {
        const EXTRA: &[&str] = &["trace", "nosmp"];
        let c = Cmdline::parse_with_known("trace=sched nosmp single X=1", EXTRA);
        assert_eq!(args(&c), vec!["single"]);
        assert_eq!(env(&c), vec!["X=1"]);
        assert_eq!(c.get("trace"), Some("sched"));
        let c = Cmdline::parse("trace=sched nosmp");
        assert_eq!(args(&c), vec!["nosmp"]);
        assert_eq!(env(&c), vec!["trace=sched"]);
    }

    #[test]
    fn duplicates_kept_for_init() {
        let c = Cmdline::parse("a a X=1 X=2");
        assert_eq!(args(&c), vec!["a", "a"]);
        assert_eq!(env(&c), vec!["X=1", "X=2"]);
        assert_eq!(c.get("X"), Some("2"));
    }

    #[test]
    fn word_text_and_raw() {
        let w: Vec<Word<'_>> = Words::new(r#"a=b "c=d e" f="g h" i"#).collect();
        let texts: Vec<_> = w.iter().map(|w| w.text()).collect();
        let raws: Vec<_> = w.iter().map(|w| w.raw()).collect();
        assert_eq!(texts, vec!["a=b", "c=d e", r#"f="g h""#, "i"]);
        assert_eq!(raws, vec!["a=b", r#""c=d e""#, r#"f="g h""#, "i"]);
    }
}
