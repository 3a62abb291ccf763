//! Linux wait statuses (the `int *wstatus` of `wait4`) and the option, id-type and `si_code`
//! constants of `wait4`/`waitid`.
//!
//! Encoding (low 16 bits; the bits above carry ptrace event numbers):
//!
//! | state      | bits 15..8      | bit 7     | bits 6..0  |
//! |------------|-----------------|-----------|------------|
//! | exited     | exit code       | 0         | 0          |
//! | signaled   | 0               | core dump | signal     |
//! | stopped    | signal          | 0         | 0x7f       |
//! | continued  | 0xff            | 1         | 0x7f       |

/// Return immediately if no child has changed state.
pub const WNOHANG: i32 = 1;
/// Also report stopped (untraced) children (`wait4`).
pub const WUNTRACED: i32 = 2;
/// Report stopped children (`waitid`; same bit as `WUNTRACED`).
pub const WSTOPPED: i32 = 2;
/// Report exited children (`waitid`).
pub const WEXITED: i32 = 4;
/// Report children continued by `SIGCONT`.
pub const WCONTINUED: i32 = 8;
/// Leave the child waitable (`waitid`).
pub const WNOWAIT: i32 = 0x0100_0000;
/// Do not wait for children of other threads in the thread group.
pub const __WNOTHREAD: i32 = 0x2000_0000;
/// Wait for all children, whatever their exit signal.
pub const __WALL: i32 = 0x4000_0000;
/// Wait only for "clone" children (exit signal other than `SIGCHLD`).
pub const __WCLONE: i32 = 0x8000_0000_u32 as i32;

/// `waitid` id type: any child.
pub const P_ALL: i32 = 0;
/// `waitid` id type: the child with this pid.
pub const P_PID: i32 = 1;
/// `waitid` id type: any child in this process group.
pub const P_PGID: i32 = 2;
/// `waitid` id type: the child this pidfd refers to.
pub const P_PIDFD: i32 = 3;

/// `SIGCHLD` `si_code`: the child called `_exit`.
pub const CLD_EXITED: i32 = 1;
/// `SIGCHLD` `si_code`: the child was killed by a signal.
pub const CLD_KILLED: i32 = 2;
/// `SIGCHLD` `si_code`: the child was killed and dumped core.
pub const CLD_DUMPED: i32 = 3;
/// `SIGCHLD` `si_code`: a traced child trapped.
pub const CLD_TRAPPED: i32 = 4;
/// `SIGCHLD` `si_code`: the child stopped.
pub const CLD_STOPPED: i32 = 5;
/// `SIGCHLD` `si_code`: a stopped child was continued.
pub const CLD_CONTINUED: i32 = 6;

/// Status of a child that exited with `code` (only its low 8 bits survive).
pub const fn exited(code: i32) -> i32 {
    (code & 0xff) << 8
}

/// Status of a child killed by signal `sig` (1..=127), with the core-dump flag.
pub const fn signaled(sig: i32, core_dumped: bool) -> i32 {
    (sig & 0x7f) | if core_dumped { 0x80 } else { 0 }
}

/// Status of a child stopped by signal `sig`.
pub const fn stopped(sig: i32) -> i32 {
    0x7f | ((sig & 0xff) << 8)
}

/// Status of a traced child stopped by `sig` at ptrace event `event` (`PTRACE_EVENT_*`).
pub const fn ptrace_event_stop(sig: i32, event: i32) -> i32 {
    stopped(sig) | ((event & 0xff) << 16)
}

/// Status of a child continued by `SIGCONT`.
pub const fn continued() -> i32 {
    0xffff
}

/// `WIFEXITED`.
pub const fn if_exited(status: i32) -> bool {
    status & 0x7f == 0
}

/// `WEXITSTATUS`.
pub const fn exit_status(status: i32) -> i32 {
    (status >> 8) & 0xff
}

/// `WIFSIGNALED`: low 7 bits neither 0 (exited) nor 0x7f (stopped/continued).
pub const fn if_signaled(status: i32) -> bool {
    let low = status & 0x7f;
    low != 0 && low != 0x7f
}

/// `WTERMSIG`.
pub const fn term_sig(status: i32) -> i32 {
    status & 0x7f
}

/// `WCOREDUMP`.
pub const fn core_dumped(status: i32) -> bool {
    status & 0x80 != 0
}

/// `WIFSTOPPED`.
pub const fn if_stopped(status: i32) -> bool {
    status & 0xff == 0x7f
}

/// `WSTOPSIG`.
pub const fn stop_sig(status: i32) -> i32 {
    exit_status(status)
}

/// `WIFCONTINUED`.
pub const fn if_continued(status: i32) -> bool {
    status == 0xffff
}

/// The ptrace event number of a stop status (`status >> 16`), 0 for plain stops.
pub const fn ptrace_event(status: i32) -> i32 {
    (status >> 16) & 0xff
}

/// A wait status, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitStatus {
    /// Exited with this code.
    Exited(i32),
    /// Killed by a signal.
    Signaled {
        /// The signal.
        sig: i32,
        /// Whether it dumped core.
        core_dumped: bool,
    },
    /// Stopped by a signal (with a ptrace event number, usually 0).
    Stopped {
        /// The signal.
        sig: i32,
        /// `PTRACE_EVENT_*`, 0 for a plain stop.
        event: i32,
    },
    /// Continued by `SIGCONT`.
    Continued,
}

impl WaitStatus {
    /// Decodes a status word.
    pub const fn decode(status: i32) -> WaitStatus {
        if if_continued(status) {
            WaitStatus::Continued
        } else if if_stopped(status) {
            WaitStatus::Stopped {
                sig: stop_sig(status),
                event: ptrace_event(status),
            }
        } else if if_exited(status) {
            WaitStatus::Exited(exit_status(status))
        } else {
            WaitStatus::Signaled {
                sig: term_sig(status),
                core_dumped: core_dumped(status),
            }
        }
    }

    /// Encodes the status word.
    pub const fn encode(self) -> i32 {
        match self {
            WaitStatus::Exited(code) => exited(code),
            WaitStatus::Signaled { sig, core_dumped } => signaled(sig, core_dumped),
            WaitStatus::Stopped { sig, event } => ptrace_event_stop(sig, event),
            WaitStatus::Continued => continued(),
        }
    }

    /// The `waitid` view: `(si_code, si_status)` of the `SIGCHLD` siginfo for this state.
    /// `si_status` is the exit code or the signal number.
    pub const fn siginfo_code_status(self) -> (i32, i32) {
        match self {
            WaitStatus::Exited(code) => (CLD_EXITED, code & 0xff),
            WaitStatus::Signaled {
                sig,
                core_dumped: false,
            } => (CLD_KILLED, sig),
            WaitStatus::Signaled {
                sig,
                core_dumped: true,
            } => (CLD_DUMPED, sig),
            WaitStatus::Stopped { sig, .. } => (CLD_STOPPED, sig),
            WaitStatus::Continued => (CLD_CONTINUED, 18), // SIGCONT
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(exited(0), 0);
        assert_eq!(exited(1), 0x100);
        assert_eq!(exited(256 + 3), 0x300);
        assert_eq!(exited(-1), 0xff00);
        assert_eq!(signaled(9, false), 9);
        assert_eq!(signaled(11, true), 0x8b);
        assert_eq!(stopped(19), 0x137f);
        assert_eq!(continued(), 0xffff);
        assert_eq!(WaitStatus::decode(0xffff), WaitStatus::Continued);
        assert_eq!(
            WaitStatus::decode(0x137f),
            WaitStatus::Stopped { sig: 19, event: 0 }
        );
        assert_eq!(
            WaitStatus::decode(0x3_057f),
            WaitStatus::Stopped { sig: 5, event: 3 }
        );
        assert_eq!(
            WaitStatus::decode(0x8b),
            WaitStatus::Signaled {
                sig: 11,
                core_dumped: true
            }
        );
        assert_eq!(WaitStatus::decode(0x2a00), WaitStatus::Exited(42));
        assert_eq!(
            WaitStatus::Exited(300).siginfo_code_status(),
            (CLD_EXITED, 44)
        );
    }

    #[test]
    fn round_trips() {
        for code in 0..=255 {
            assert_eq!(WaitStatus::decode(exited(code)), WaitStatus::Exited(code));
        }
        for sig in 1..=64 {
            for core in [false, true] {
                let s = WaitStatus::Signaled {
                    sig,
                    core_dumped: core,
                };
                assert_eq!(WaitStatus::decode(s.encode()), s);
            }
            let s = WaitStatus::Stopped { sig, event: 0 };
            assert_eq!(WaitStatus::decode(s.encode()), s);
        }
        assert_eq!(
            WaitStatus::decode(WaitStatus::Continued.encode()),
            WaitStatus::Continued
        );
    }
}

#[cfg(all(test, target_os = "linux", target_arch = "x86_64"))]
mod host {
    use super::*;
    use proptest::prelude::*;

    fn same_as_libc(s: i32) {
        assert_eq!(if_exited(s), libc::WIFEXITED(s), "{s:#x}");
        assert_eq!(exit_status(s), libc::WEXITSTATUS(s), "{s:#x}");
        assert_eq!(if_signaled(s), libc::WIFSIGNALED(s), "{s:#x}");
        assert_eq!(term_sig(s), libc::WTERMSIG(s), "{s:#x}");
        assert_eq!(core_dumped(s), libc::WCOREDUMP(s), "{s:#x}");
        assert_eq!(if_stopped(s), libc::WIFSTOPPED(s), "{s:#x}");
        assert_eq!(stop_sig(s), libc::WSTOPSIG(s), "{s:#x}");
        assert_eq!(if_continued(s), libc::WIFCONTINUED(s), "{s:#x}");
    }

    #[test]
    fn constants_match_host_libc() {
        assert_eq!(WNOHANG, libc::WNOHANG);
        assert_eq!(WUNTRACED, libc::WUNTRACED);
        assert_eq!(WSTOPPED, libc::WSTOPPED);
        assert_eq!(WEXITED, libc::WEXITED);
        assert_eq!(WCONTINUED, libc::WCONTINUED);
        assert_eq!(WNOWAIT, libc::WNOWAIT);
        assert_eq!(__WNOTHREAD, libc::__WNOTHREAD);
        assert_eq!(__WALL, libc::__WALL);
        assert_eq!(__WCLONE, libc::__WCLONE);
        assert_eq!(P_ALL as u32, libc::P_ALL);
        assert_eq!(P_PID as u32, libc::P_PID);
        assert_eq!(P_PGID as u32, libc::P_PGID);
        assert_eq!(P_PIDFD as u32, libc::P_PIDFD);
        assert_eq!(CLD_EXITED, libc::CLD_EXITED);
        assert_eq!(CLD_KILLED, libc::CLD_KILLED);
        assert_eq!(CLD_DUMPED, libc::CLD_DUMPED);
        assert_eq!(CLD_TRAPPED, libc::CLD_TRAPPED);
        assert_eq!(CLD_STOPPED, libc::CLD_STOPPED);
        assert_eq!(CLD_CONTINUED, libc::CLD_CONTINUED);
    }

    #[test]
    fn encoders_agree_with_libc_decoders() {
        for code in -300..=300 {
            let s = exited(code);
            assert!(libc::WIFEXITED(s));
            assert_eq!(libc::WEXITSTATUS(s), code & 0xff);
            same_as_libc(s);
        }
        for sig in 1..=64 {
            for core in [false, true] {
                let s = signaled(sig, core);
                assert!(libc::WIFSIGNALED(s));
                assert_eq!(libc::WTERMSIG(s), sig);
                assert_eq!(libc::WCOREDUMP(s), core);
                same_as_libc(s);
            }
            let s = stopped(sig);
            assert!(libc::WIFSTOPPED(s));
            assert_eq!(libc::WSTOPSIG(s), sig);
            same_as_libc(s);
        }
        assert!(libc::WIFCONTINUED(continued()));
        same_as_libc(continued());
    }

    #[test]
    fn decoders_agree_with_libc_on_every_16_bit_status() {
        for s in 0..=0xffff {
            same_as_libc(s);
        }
    }

    proptest! {
        #[test]
        fn decoders_agree_with_libc_on_any_int(s in any::<i32>()) {
            same_as_libc(s);
        }
    }
}
