//! Linux error numbers (`include/uapi/asm-generic/errno-base.h` and `errno.h`, which x86-64 uses
//! unchanged) as the [`Errno`] type, with names and the negative system-call return encoding.
//!
//! Values 41 and 58 are unassigned on x86-64 (they are `EWOULDBLOCK`/`EDEADLOCK` only on other
//! architectures; here those names alias `EAGAIN` and `EDEADLK`). The `ERESTART*` family and
//! `ENOIOCTLCMD` (512..=516) are kernel-internal codes that must never reach user space; they are
//! here because a kernel needs them to implement syscall restart after signals.

use core::fmt;

/// A Linux error number (positive, as in `errno`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($val:literal $konst:ident;)*) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($konst), "` (", stringify!($val), ")")]
                pub const $konst: Errno = Errno($val);
            )*

            /// The symbolic name (`"ENOENT"`), or `"EUNKNOWN"` for a value Linux does not assign.
            /// Aliases resolve to the canonical name (`EWOULDBLOCK` gives `"EAGAIN"`).
            pub const fn name(&self) -> &'static str {
                match self.0 {
                    $($val => stringify!($konst),)*
                    _ => "EUNKNOWN",
                }
            }
        }

        /// Every canonical error number, ascending (aliases left out).
        pub const ALL: &[Errno] = &[$(Errno::$konst),*];
    };
}

errnos! {
    1 EPERM;
    2 ENOENT;
    3 ESRCH;
    4 EINTR;
    5 EIO;
    6 ENXIO;
    7 E2BIG;
    8 ENOEXEC;
    9 EBADF;
    10 ECHILD;
    11 EAGAIN;
    12 ENOMEM;
    13 EACCES;
    14 EFAULT;
    15 ENOTBLK;
    16 EBUSY;
    17 EEXIST;
    18 EXDEV;
    19 ENODEV;
    20 ENOTDIR;
    21 EISDIR;
    22 EINVAL;
    23 ENFILE;
    24 EMFILE;
    25 ENOTTY;
    26 ETXTBSY;
    27 EFBIG;
    28 ENOSPC;
    29 ESPIPE;
    30 EROFS;
    31 EMLINK;
    32 EPIPE;
    33 EDOM;
    34 ERANGE;
    35 EDEADLK;
    36 ENAMETOOLONG;
    37 ENOLCK;
    38 ENOSYS;
    39 ENOTEMPTY;
    40 ELOOP;
    42 ENOMSG;
    43 EIDRM;
    44 ECHRNG;
    45 EL2NSYNC;
    46 EL3HLT;
    47 EL3RST;
    48 ELNRNG;
    49 EUNATCH;
    50 ENOCSI;
    51 EL2HLT;
    52 EBADE;
    53 EBADR;
    54 EXFULL;
    55 ENOANO;
    56 EBADRQC;
    57 EBADSLT;
    59 EBFONT;
    60 ENOSTR;
    61 ENODATA;
    62 ETIME;
    63 ENOSR;
    64 ENONET;
    65 ENOPKG;
    66 EREMOTE;
    67 ENOLINK;
    68 EADV;
    69 ESRMNT;
    70 ECOMM;
    71 EPROTO;
    72 EMULTIHOP;
    73 EDOTDOT;
    74 EBADMSG;
    75 EOVERFLOW;
    76 ENOTUNIQ;
    77 EBADFD;
    78 EREMCHG;
    79 ELIBACC;
    80 ELIBBAD;
    81 ELIBSCN;
    82 ELIBMAX;
    83 ELIBEXEC;
    84 EILSEQ;
    85 ERESTART;
    86 ESTRPIPE;
    87 EUSERS;
    88 ENOTSOCK;
    89 EDESTADDRREQ;
    90 EMSGSIZE;
    91 EPROTOTYPE;
    92 ENOPROTOOPT;
    93 EPROTONOSUPPORT;
    94 ESOCKTNOSUPPORT;
    95 EOPNOTSUPP;
    96 EPFNOSUPPORT;
    97 EAFNOSUPPORT;
    98 EADDRINUSE;
    99 EADDRNOTAVAIL;
    100 ENETDOWN;
    101 ENETUNREACH;
    102 ENETRESET;
    103 ECONNABORTED;
    104 ECONNRESET;
    105 ENOBUFS;
    106 EISCONN;
    107 ENOTCONN;
    108 ESHUTDOWN;
    109 ETOOMANYREFS;
    110 ETIMEDOUT;
    111 ECONNREFUSED;
    112 EHOSTDOWN;
    113 EHOSTUNREACH;
    114 EALREADY;
    115 EINPROGRESS;
    116 ESTALE;
    117 EUCLEAN;
    118 ENOTNAM;
    119 ENAVAIL;
    120 EISNAM;
    121 EREMOTEIO;
    122 EDQUOT;
    123 ENOMEDIUM;
    124 EMEDIUMTYPE;
    125 ECANCELED;
    126 ENOKEY;
    127 EKEYEXPIRED;
    128 EKEYREVOKED;
    129 EKEYREJECTED;
    130 EOWNERDEAD;
    131 ENOTRECOVERABLE;
    132 ERFKILL;
    133 EHWPOISON;
    512 ERESTARTSYS;
    513 ERESTARTNOINTR;
    514 ERESTARTNOHAND;
    515 ENOIOCTLCMD;
    516 ERESTART_RESTARTBLOCK;
}

impl Errno {
    /// Alias of [`Errno::EAGAIN`].
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// Alias of [`Errno::EDEADLK`].
    pub const EDEADLOCK: Errno = Errno::EDEADLK;
    /// Alias of [`Errno::EOPNOTSUPP`] (glibc's `ENOTSUP`; Linux has one value for both).
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// The value a system call returns in `rax` for this error: `-errno`.
    pub const fn as_ret(&self) -> i64 {
        -(self.0 as i64)
    }

    /// The error encoded in a raw system-call return value: `Some` for -4095..=-1 (the range
    /// user space treats as errors), `None` for anything else.
    pub const fn from_ret(ret: i64) -> Option<Errno> {
        if ret >= -4095 && ret <= -1 {
            Some(Errno(-ret as i32))
        } else {
            None
        }
    }

    /// Whether Linux assigns this value a name.
    pub const fn is_known(&self) -> bool {
        !matches!(self.name().as_bytes(), b"EUNKNOWN")
    }

    /// The error number called `name` (aliases accepted), if any.
    pub fn from_name(name: &str) -> Option<Errno> {
        match name {
            "EWOULDBLOCK" => return Some(Errno::EWOULDBLOCK),
            "EDEADLOCK" => return Some(Errno::EDEADLOCK),
            "ENOTSUP" => return Some(Errno::ENOTSUP),
            _ => {}
        }
        ALL.iter().copied().find(|e| e.name() == name)
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_known() {
            f.write_str(self.name())
        } else {
            write!(f, "Errno({})", self.0)
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn names_and_returns() {
        assert_eq!(Errno::ENOENT.name(), "ENOENT");
        assert_eq!(Errno::ENOSYS, Errno(38));
        assert_eq!(Errno::ELOOP, Errno(40));
        assert_eq!(Errno::ETIMEDOUT, Errno(110));
        assert_eq!(Errno::EHWPOISON, Errno(133));
        assert_eq!(Errno::EWOULDBLOCK.name(), "EAGAIN");
        assert_eq!(Errno::ENOENT.as_ret(), -2);
        assert_eq!(Errno(41).name(), "EUNKNOWN");
        assert_eq!(Errno(58).name(), "EUNKNOWN");
        assert_eq!(Errno(0).name(), "EUNKNOWN");
        assert_eq!(Errno(i32::MIN).name(), "EUNKNOWN");
        assert_eq!(Errno(i32::MIN).as_ret(), 2_147_483_648);
        assert_eq!(format!("{:?}", Errno::EPERM), "EPERM");
        assert_eq!(format!("{}", Errno(9999)), "Errno(9999)");
        assert_eq!(Errno::from_name("ENOTSUP"), Some(Errno(95)));
        assert_eq!(Errno::from_name("EIO"), Some(Errno(5)));
        assert_eq!(Errno::from_name("EUNKNOWN"), None);
    }

    #[test]
    fn every_value_1_to_133_but_41_and_58_is_named() {
        for v in 1..=133 {
            let e = Errno(v);
            assert_eq!(e.is_known(), v != 41 && v != 58, "{v}");
            if e.is_known() {
                assert_eq!(Errno::from_name(e.name()), Some(e));
                assert_eq!(Errno::from_ret(e.as_ret()), Some(e));
            }
        }
        assert_eq!(ALL.len(), 131 + 5);
        assert_eq!(Errno::from_ret(0), None);
        assert_eq!(Errno::from_ret(-4096), None);
        assert_eq!(Errno::from_ret(i64::MIN), None);
        assert_eq!(Errno::from_ret(5), None);
    }
}

#[cfg(all(test, target_os = "linux", target_arch = "x86_64"))]
mod host {
    use super::*;

    #[test]
    fn matches_host_libc() {
        let pairs: &[(Errno, i32)] = &[
            (Errno::EPERM, libc::EPERM),
            (Errno::ENOENT, libc::ENOENT),
            (Errno::ESRCH, libc::ESRCH),
            (Errno::EINTR, libc::EINTR),
            (Errno::EIO, libc::EIO),
            (Errno::ENXIO, libc::ENXIO),
            (Errno::E2BIG, libc::E2BIG),
            (Errno::ENOEXEC, libc::ENOEXEC),
            (Errno::EBADF, libc::EBADF),
            (Errno::ECHILD, libc::ECHILD),
            (Errno::EAGAIN, libc::EAGAIN),
            (Errno::EWOULDBLOCK, libc::EWOULDBLOCK),
            (Errno::ENOMEM, libc::ENOMEM),
            (Errno::EACCES, libc::EACCES),
            (Errno::EFAULT, libc::EFAULT),
            (Errno::ENOTBLK, libc::ENOTBLK),
            (Errno::EBUSY, libc::EBUSY),
            (Errno::EEXIST, libc::EEXIST),
            (Errno::EXDEV, libc::EXDEV),
            (Errno::ENODEV, libc::ENODEV),
            (Errno::ENOTDIR, libc::ENOTDIR),
            (Errno::EISDIR, libc::EISDIR),
            (Errno::EINVAL, libc::EINVAL),
            (Errno::ENFILE, libc::ENFILE),
            (Errno::EMFILE, libc::EMFILE),
            (Errno::ENOTTY, libc::ENOTTY),
            (Errno::ETXTBSY, libc::ETXTBSY),
            (Errno::EFBIG, libc::EFBIG),
            (Errno::ENOSPC, libc::ENOSPC),
            (Errno::ESPIPE, libc::ESPIPE),
            (Errno::EROFS, libc::EROFS),
            (Errno::EMLINK, libc::EMLINK),
            (Errno::EPIPE, libc::EPIPE),
            (Errno::EDOM, libc::EDOM),
            (Errno::ERANGE, libc::ERANGE),
            (Errno::EDEADLK, libc::EDEADLK),
            (Errno::EDEADLOCK, libc::EDEADLOCK),
            (Errno::ENAMETOOLONG, libc::ENAMETOOLONG),
            (Errno::ENOLCK, libc::ENOLCK),
            (Errno::ENOSYS, libc::ENOSYS),
            (Errno::ENOTEMPTY, libc::ENOTEMPTY),
            (Errno::ELOOP, libc::ELOOP),
            (Errno::ENOMSG, libc::ENOMSG),
            (Errno::EIDRM, libc::EIDRM),
            (Errno::ECHRNG, libc::ECHRNG),
            (Errno::EL2NSYNC, libc::EL2NSYNC),
            (Errno::EL3HLT, libc::EL3HLT),
            (Errno::EL3RST, libc::EL3RST),
            (Errno::ELNRNG, libc::ELNRNG),
            (Errno::EUNATCH, libc::EUNATCH),
            (Errno::ENOCSI, libc::ENOCSI),
            (Errno::EL2HLT, libc::EL2HLT),
            (Errno::EBADE, libc::EBADE),
            (Errno::EBADR, libc::EBADR),
            (Errno::EXFULL, libc::EXFULL),
            (Errno::ENOANO, libc::ENOANO),
            (Errno::EBADRQC, libc::EBADRQC),
            (Errno::EBADSLT, libc::EBADSLT),
            (Errno::EBFONT, libc::EBFONT),
            (Errno::ENOSTR, libc::ENOSTR),
            (Errno::ENODATA, libc::ENODATA),
            (Errno::ETIME, libc::ETIME),
            (Errno::ENOSR, libc::ENOSR),
            (Errno::ENONET, libc::ENONET),
            (Errno::ENOPKG, libc::ENOPKG),
            (Errno::EREMOTE, libc::EREMOTE),
            (Errno::ENOLINK, libc::ENOLINK),
            (Errno::EADV, libc::EADV),
            (Errno::ESRMNT, libc::ESRMNT),
            (Errno::ECOMM, libc::ECOMM),
            (Errno::EPROTO, libc::EPROTO),
            (Errno::EMULTIHOP, libc::EMULTIHOP),
            (Errno::EDOTDOT, libc::EDOTDOT),
            (Errno::EBADMSG, libc::EBADMSG),
            (Errno::EOVERFLOW, libc::EOVERFLOW),
            (Errno::ENOTUNIQ, libc::ENOTUNIQ),
            (Errno::EBADFD, libc::EBADFD),
            (Errno::EREMCHG, libc::EREMCHG),
            (Errno::ELIBACC, libc::ELIBACC),
            (Errno::ELIBBAD, libc::ELIBBAD),
            (Errno::ELIBSCN, libc::ELIBSCN),
            (Errno::ELIBMAX, libc::ELIBMAX),
            (Errno::ELIBEXEC, libc::ELIBEXEC),
            (Errno::EILSEQ, libc::EILSEQ),
            (Errno::ERESTART, libc::ERESTART),
            (Errno::ESTRPIPE, libc::ESTRPIPE),
            (Errno::EUSERS, libc::EUSERS),
            (Errno::ENOTSOCK, libc::ENOTSOCK),
            (Errno::EDESTADDRREQ, libc::EDESTADDRREQ),
            (Errno::EMSGSIZE, libc::EMSGSIZE),
            (Errno::EPROTOTYPE, libc::EPROTOTYPE),
            (Errno::ENOPROTOOPT, libc::ENOPROTOOPT),
            (Errno::EPROTONOSUPPORT, libc::EPROTONOSUPPORT),
            (Errno::ESOCKTNOSUPPORT, libc::ESOCKTNOSUPPORT),
            (Errno::EOPNOTSUPP, libc::EOPNOTSUPP),
            (Errno::EPFNOSUPPORT, libc::EPFNOSUPPORT),
            (Errno::EAFNOSUPPORT, libc::EAFNOSUPPORT),
            (Errno::EADDRINUSE, libc::EADDRINUSE),
            (Errno::EADDRNOTAVAIL, libc::EADDRNOTAVAIL),
            (Errno::ENETDOWN, libc::ENETDOWN),
            (Errno::ENETUNREACH, libc::ENETUNREACH),
            (Errno::ENETRESET, libc::ENETRESET),
            (Errno::ECONNABORTED, libc::ECONNABORTED),
            (Errno::ECONNRESET, libc::ECONNRESET),
            (Errno::ENOBUFS, libc::ENOBUFS),
            (Errno::EISCONN, libc::EISCONN),
            (Errno::ENOTCONN, libc::ENOTCONN),
            (Errno::ESHUTDOWN, libc::ESHUTDOWN),
            (Errno::ETOOMANYREFS, libc::ETOOMANYREFS),
            (Errno::ETIMEDOUT, libc::ETIMEDOUT),
            (Errno::ECONNREFUSED, libc::ECONNREFUSED),
            (Errno::EHOSTDOWN, libc::EHOSTDOWN),
            (Errno::EHOSTUNREACH, libc::EHOSTUNREACH),
            (Errno::EALREADY, libc::EALREADY),
            (Errno::EINPROGRESS, libc::EINPROGRESS),
            (Errno::ESTALE, libc::ESTALE),
            (Errno::EUCLEAN, libc::EUCLEAN),
            (Errno::ENOTNAM, libc::ENOTNAM),
            (Errno::ENAVAIL, libc::ENAVAIL),
            (Errno::EISNAM, libc::EISNAM),
            (Errno::EREMOTEIO, libc::EREMOTEIO),
            (Errno::EDQUOT, libc::EDQUOT),
            (Errno::ENOMEDIUM, libc::ENOMEDIUM),
            (Errno::EMEDIUMTYPE, libc::EMEDIUMTYPE),
            (Errno::ECANCELED, libc::ECANCELED),
            (Errno::ENOKEY, libc::ENOKEY),
            (Errno::EKEYEXPIRED, libc::EKEYEXPIRED),
            (Errno::EKEYREVOKED, libc::EKEYREVOKED),
            (Errno::EKEYREJECTED, libc::EKEYREJECTED),
            (Errno::EOWNERDEAD, libc::EOWNERDEAD),
            (Errno::ENOTRECOVERABLE, libc::ENOTRECOVERABLE),
            (Errno::ERFKILL, libc::ERFKILL),
            (Errno::EHWPOISON, libc::EHWPOISON),
            (Errno::ENOTSUP, libc::ENOTSUP),
        ];
        for &(ours, theirs) in pairs {
            assert_eq!(ours.0, theirs, "{ours:?}");
        }
        // Every canonical 1..=133 value is in the cross-check above.
        let checked = pairs
            .iter()
            .filter(|(e, _)| (1..=133).contains(&e.0))
            .count();
        assert_eq!(checked, 131 + 3);
    }
}
