//! Credentials and the Linux rules for changing them (credentials(7), setresuid(2)): a process
//! with effective uid 0 (CAP_SETUID, in Tine's model) may set any id; others may only move
//! between their real, effective and saved ids. Changing the effective uid also sets fsuid.

use alloc::vec::Vec;

use abi::errno::Errno;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Creds {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    pub groups: Vec<u32>,
}

/// "-1": leave this id unchanged.
pub const KEEP: u32 = u32::MAX;

impl Creds {
    pub fn root() -> Creds {
        Creds {
            uid: 0,
            euid: 0,
            suid: 0,
            fsuid: 0,
            gid: 0,
            egid: 0,
            sgid: 0,
            fsgid: 0,
            groups: Vec::new(),
        }
    }

    pub fn privileged(&self) -> bool {
        self.euid == 0
    }

    /// Linux's ptrace access rule (PTRACE_MODE_READ) between two processes' credentials:
    /// a privileged caller, or one whose ids equal all of the target's real, effective and
    /// saved ids. `fs_ids` picks which of the caller's ids count: the file-system ids
    /// (PTRACE_MODE_FSCREDS: /proc files) or the real ids (PTRACE_MODE_REALCREDS:
    /// get_robust_list). Linux also refuses non-dumpable targets; Tine keeps no such flag.
    pub fn may_inspect(&self, them: &Creds, fs_ids: bool) -> bool {
        let (uid, gid) = if fs_ids {
            (self.fsuid, self.fsgid)
        } else {
            (self.uid, self.gid)
        };
        self.privileged()
            || ([them.uid, them.euid, them.suid].iter().all(|&u| u == uid)
                && [them.gid, them.egid, them.sgid].iter().all(|&g| g == gid))
    }

    /// Linux's rule for changing another process's scheduling (setpriority,
    /// sched_setaffinity without CAP_SYS_NICE): privileged, or our effective id is the
    /// target's real or effective id.
    pub fn may_reschedule(&self, them: &Creds) -> bool {
        self.privileged() || self.euid == them.uid || self.euid == them.euid
    }

    fn may_set_uid(&self, id: u32) -> bool {
        self.privileged() || id == self.uid || id == self.euid || id == self.suid
    }

    fn may_set_gid(&self, id: u32) -> bool {
        self.privileged() || id == self.gid || id == self.egid || id == self.sgid
    }

    pub fn setresuid(&mut self, r: u32, e: u32, s: u32) -> Result<(), Errno> {
        for id in [r, e, s] {
            if id != KEEP && !self.may_set_uid(id) {
                return Err(Errno::EPERM);
            }
        }
        if r != KEEP {
            self.uid = r;
        }
        if e != KEEP {
            self.euid = e;
        }
        if s != KEEP {
            self.suid = s;
        }
        self.fsuid = self.euid;
        Ok(())
    }

    pub fn setresgid(&mut self, r: u32, e: u32, s: u32) -> Result<(), Errno> {
        for id in [r, e, s] {
            if id != KEEP && !self.may_set_gid(id) {
                return Err(Errno::EPERM);
            }
        }
        if r != KEEP {
            self.gid = r;
        }
        if e != KEEP {
            self.egid = e;
        }
        if s != KEEP {
            self.sgid = s;
        }
        self.fsgid = self.egid;
        Ok(())
    }

    /// setuid(2): privileged → all three ids; otherwise only the effective id, to the real or
    /// saved one.
    pub fn setuid(&mut self, id: u32) -> Result<(), Errno> {
        if id == KEEP {
            return Err(Errno::EINVAL);
        }
        if self.privileged() {
            self.uid = id;
            self.euid = id;
            self.suid = id;
        } else if id == self.uid || id == self.suid {
            self.euid = id;
        } else {
            return Err(Errno::EPERM);
        }
        self.fsuid = self.euid;
        Ok(())
    }

    pub fn setgid(&mut self, id: u32) -> Result<(), Errno> {
        if id == KEEP {
            return Err(Errno::EINVAL);
        }
        if self.privileged() {
            self.gid = id;
            self.egid = id;
            self.sgid = id;
        } else if id == self.gid || id == self.sgid {
            self.egid = id;
        } else {
            return Err(Errno::EPERM);
        }
        self.fsgid = self.egid;
        Ok(())
    }

    /// setreuid(2): the real id may become the effective one; the saved id follows the new
    /// effective id when the real id is set or the effective id differs from the old real id.
    pub fn setreuid(&mut self, r: u32, e: u32) -> Result<(), Errno> {
        let old_uid = self.uid;
        if r != KEEP && !(self.privileged() || r == self.uid || r == self.euid) {
            return Err(Errno::EPERM);
        }
        if e != KEEP && !self.may_set_uid(e) {
            return Err(Errno::EPERM);
        }
        if r != KEEP {
            self.uid = r;
        }
        if e != KEEP {
            self.euid = e;
        }
        if r != KEEP || (e != KEEP && e != old_uid) {
            self.suid = self.euid;
        }
        self.fsuid = self.euid;
        Ok(())
    }

    pub fn setregid(&mut self, r: u32, e: u32) -> Result<(), Errno> {
        let old_gid = self.gid;
        if r != KEEP && !(self.privileged() || r == self.gid || r == self.egid) {
            return Err(Errno::EPERM);
        }
        if e != KEEP && !self.may_set_gid(e) {
            return Err(Errno::EPERM);
        }
        if r != KEEP {
            self.gid = r;
        }
        if e != KEEP {
            self.egid = e;
        }
        if r != KEEP || (e != KEEP && e != old_gid) {
            self.sgid = self.egid;
        }
        self.fsgid = self.egid;
        Ok(())
    }

    /// setfsuid(2): returns the previous fsuid; changes it only if allowed.
    pub fn setfsuid(&mut self, id: u32) -> u32 {
        let old = self.fsuid;
        if id != KEEP
            && (self.privileged() || [self.uid, self.euid, self.suid, self.fsuid].contains(&id))
        {
            self.fsuid = id;
        }
        old
    }

    pub fn setfsgid(&mut self, id: u32) -> u32 {
        let old = self.fsgid;
        if id != KEEP
            && (self.privileged() || [self.gid, self.egid, self.sgid, self.fsgid].contains(&id))
        {
            self.fsgid = id;
        }
        old
    }
}
