//! x86-64 Linux system call numbers (`arch/x86/entry/syscalls/syscall_64.tbl`, the "common" and
//! "64" ABIs) as constants, plus number <-> strace-name look-ups.
//!
//! Every constant is the number user space puts in `rax` before `syscall`. The constant names are
//! the upper-cased strace names (`READ` for `read`); the one exception is `_sysctl` (156), whose
//! constant is [`SYSCTL`]. The x32 ABI (numbers 512 and up, plus the `__X32_SYSCALL_BIT`) is not
//! covered. Numbers 336..=423 are unassigned on x86-64.

macro_rules! sysnos {
    ($($nr:literal $konst:ident $name:literal;)*) => {
        $(
            #[doc = concat!("`", $name, "`")]
            pub const $konst: u64 = $nr;
        )*

        /// Every known system call as `(number, strace name)`, in ascending number order.
        pub const ALL: &[(u64, &str)] = &[$(($nr, $name)),*];

        /// The strace name of system call `nr`, or `None` if x86-64 Linux assigns it nothing.
        pub fn name(nr: u64) -> Option<&'static str> {
            match nr {
                $($nr => Some($name),)*
                _ => None,
            }
        }
    };
}

sysnos! {
    0 READ "read";
    1 WRITE "write";
    2 OPEN "open";
    3 CLOSE "close";
    4 STAT "stat";
    5 FSTAT "fstat";
    6 LSTAT "lstat";
    7 POLL "poll";
    8 LSEEK "lseek";
    9 MMAP "mmap";
    10 MPROTECT "mprotect";
    11 MUNMAP "munmap";
    12 BRK "brk";
    13 RT_SIGACTION "rt_sigaction";
    14 RT_SIGPROCMASK "rt_sigprocmask";
    15 RT_SIGRETURN "rt_sigreturn";
    16 IOCTL "ioctl";
    17 PREAD64 "pread64";
    18 PWRITE64 "pwrite64";
    19 READV "readv";
    20 WRITEV "writev";
    21 ACCESS "access";
    22 PIPE "pipe";
    23 SELECT "select";
    24 SCHED_YIELD "sched_yield";
    25 MREMAP "mremap";
    26 MSYNC "msync";
    27 MINCORE "mincore";
    28 MADVISE "madvise";
    29 SHMGET "shmget";
    30 SHMAT "shmat";
    31 SHMCTL "shmctl";
    32 DUP "dup";
    33 DUP2 "dup2";
    34 PAUSE "pause";
    35 NANOSLEEP "nanosleep";
    36 GETITIMER "getitimer";
    37 ALARM "alarm";
    38 SETITIMER "setitimer";
    39 GETPID "getpid";
    40 SENDFILE "sendfile";
    41 SOCKET "socket";
    42 CONNECT "connect";
    43 ACCEPT "accept";
    44 SENDTO "sendto";
    45 RECVFROM "recvfrom";
    46 SENDMSG "sendmsg";
    47 RECVMSG "recvmsg";
    48 SHUTDOWN "shutdown";
    49 BIND "bind";
    50 LISTEN "listen";
    51 GETSOCKNAME "getsockname";
    52 GETPEERNAME "getpeername";
    53 SOCKETPAIR "socketpair";
    54 SETSOCKOPT "setsockopt";
    55 GETSOCKOPT "getsockopt";
    56 CLONE "clone";
    57 FORK "fork";
    58 VFORK "vfork";
    59 EXECVE "execve";
    60 EXIT "exit";
    61 WAIT4 "wait4";
    62 KILL "kill";
    63 UNAME "uname";
    64 SEMGET "semget";
    65 SEMOP "semop";
    66 SEMCTL "semctl";
    67 SHMDT "shmdt";
    68 MSGGET "msgget";
    69 MSGSND "msgsnd";
    70 MSGRCV "msgrcv";
    71 MSGCTL "msgctl";
    72 FCNTL "fcntl";
    73 FLOCK "flock";
    74 FSYNC "fsync";
    75 FDATASYNC "fdatasync";
    76 TRUNCATE "truncate";
    77 FTRUNCATE "ftruncate";
    78 GETDENTS "getdents";
    79 GETCWD "getcwd";
    80 CHDIR "chdir";
    81 FCHDIR "fchdir";
    82 RENAME "rename";
    83 MKDIR "mkdir";
    84 RMDIR "rmdir";
    85 CREAT "creat";
    86 LINK "link";
    87 UNLINK "unlink";
    88 SYMLINK "symlink";
    89 READLINK "readlink";
    90 CHMOD "chmod";
    91 FCHMOD "fchmod";
    92 CHOWN "chown";
    93 FCHOWN "fchown";
    94 LCHOWN "lchown";
    95 UMASK "umask";
    96 GETTIMEOFDAY "gettimeofday";
    97 GETRLIMIT "getrlimit";
    98 GETRUSAGE "getrusage";
    99 SYSINFO "sysinfo";
    100 TIMES "times";
    101 PTRACE "ptrace";
    102 GETUID "getuid";
    103 SYSLOG "syslog";
    104 GETGID "getgid";
    105 SETUID "setuid";
    106 SETGID "setgid";
    107 GETEUID "geteuid";
    108 GETEGID "getegid";
    109 SETPGID "setpgid";
    110 GETPPID "getppid";
    111 GETPGRP "getpgrp";
    112 SETSID "setsid";
    113 SETREUID "setreuid";
    114 SETREGID "setregid";
    115 GETGROUPS "getgroups";
    116 SETGROUPS "setgroups";
    117 SETRESUID "setresuid";
    118 GETRESUID "getresuid";
    119 SETRESGID "setresgid";
    120 GETRESGID "getresgid";
    121 GETPGID "getpgid";
    122 SETFSUID "setfsuid";
    123 SETFSGID "setfsgid";
    124 GETSID "getsid";
    125 CAPGET "capget";
    126 CAPSET "capset";
    127 RT_SIGPENDING "rt_sigpending";
    128 RT_SIGTIMEDWAIT "rt_sigtimedwait";
    129 RT_SIGQUEUEINFO "rt_sigqueueinfo";
    130 RT_SIGSUSPEND "rt_sigsuspend";
    131 SIGALTSTACK "sigaltstack";
    132 UTIME "utime";
    133 MKNOD "mknod";
    134 USELIB "uselib";
    135 PERSONALITY "personality";
    136 USTAT "ustat";
    137 STATFS "statfs";
    138 FSTATFS "fstatfs";
    139 SYSFS "sysfs";
    140 GETPRIORITY "getpriority";
    141 SETPRIORITY "setpriority";
    142 SCHED_SETPARAM "sched_setparam";
    143 SCHED_GETPARAM "sched_getparam";
    144 SCHED_SETSCHEDULER "sched_setscheduler";
    145 SCHED_GETSCHEDULER "sched_getscheduler";
    146 SCHED_GET_PRIORITY_MAX "sched_get_priority_max";
    147 SCHED_GET_PRIORITY_MIN "sched_get_priority_min";
    148 SCHED_RR_GET_INTERVAL "sched_rr_get_interval";
    149 MLOCK "mlock";
    150 MUNLOCK "munlock";
    151 MLOCKALL "mlockall";
    152 MUNLOCKALL "munlockall";
    153 VHANGUP "vhangup";
    154 MODIFY_LDT "modify_ldt";
    155 PIVOT_ROOT "pivot_root";
    156 SYSCTL "_sysctl";
    157 PRCTL "prctl";
    158 ARCH_PRCTL "arch_prctl";
    159 ADJTIMEX "adjtimex";
    160 SETRLIMIT "setrlimit";
    161 CHROOT "chroot";
    162 SYNC "sync";
    163 ACCT "acct";
    164 SETTIMEOFDAY "settimeofday";
    165 MOUNT "mount";
    166 UMOUNT2 "umount2";
    167 SWAPON "swapon";
    168 SWAPOFF "swapoff";
    169 REBOOT "reboot";
    170 SETHOSTNAME "sethostname";
    171 SETDOMAINNAME "setdomainname";
    172 IOPL "iopl";
    173 IOPERM "ioperm";
    174 CREATE_MODULE "create_module";
    175 INIT_MODULE "init_module";
    176 DELETE_MODULE "delete_module";
    177 GET_KERNEL_SYMS "get_kernel_syms";
    178 QUERY_MODULE "query_module";
    179 QUOTACTL "quotactl";
    180 NFSSERVCTL "nfsservctl";
    181 GETPMSG "getpmsg";
    182 PUTPMSG "putpmsg";
    183 AFS_SYSCALL "afs_syscall";
    184 TUXCALL "tuxcall";
    185 SECURITY "security";
    186 GETTID "gettid";
    187 READAHEAD "readahead";
    188 SETXATTR "setxattr";
    189 LSETXATTR "lsetxattr";
    190 FSETXATTR "fsetxattr";
    191 GETXATTR "getxattr";
    192 LGETXATTR "lgetxattr";
    193 FGETXATTR "fgetxattr";
    194 LISTXATTR "listxattr";
    195 LLISTXATTR "llistxattr";
    196 FLISTXATTR "flistxattr";
    197 REMOVEXATTR "removexattr";
    198 LREMOVEXATTR "lremovexattr";
    199 FREMOVEXATTR "fremovexattr";
    200 TKILL "tkill";
    201 TIME "time";
    202 FUTEX "futex";
    203 SCHED_SETAFFINITY "sched_setaffinity";
    204 SCHED_GETAFFINITY "sched_getaffinity";
    205 SET_THREAD_AREA "set_thread_area";
    206 IO_SETUP "io_setup";
    207 IO_DESTROY "io_destroy";
    208 IO_GETEVENTS "io_getevents";
    209 IO_SUBMIT "io_submit";
    210 IO_CANCEL "io_cancel";
    211 GET_THREAD_AREA "get_thread_area";
    212 LOOKUP_DCOOKIE "lookup_dcookie";
    213 EPOLL_CREATE "epoll_create";
    214 EPOLL_CTL_OLD "epoll_ctl_old";
    215 EPOLL_WAIT_OLD "epoll_wait_old";
    216 REMAP_FILE_PAGES "remap_file_pages";
    217 GETDENTS64 "getdents64";
    218 SET_TID_ADDRESS "set_tid_address";
    219 RESTART_SYSCALL "restart_syscall";
    220 SEMTIMEDOP "semtimedop";
    221 FADVISE64 "fadvise64";
    222 TIMER_CREATE "timer_create";
    223 TIMER_SETTIME "timer_settime";
    224 TIMER_GETTIME "timer_gettime";
    225 TIMER_GETOVERRUN "timer_getoverrun";
    226 TIMER_DELETE "timer_delete";
    227 CLOCK_SETTIME "clock_settime";
    228 CLOCK_GETTIME "clock_gettime";
    229 CLOCK_GETRES "clock_getres";
    230 CLOCK_NANOSLEEP "clock_nanosleep";
    231 EXIT_GROUP "exit_group";
    232 EPOLL_WAIT "epoll_wait";
    233 EPOLL_CTL "epoll_ctl";
    234 TGKILL "tgkill";
    235 UTIMES "utimes";
    236 VSERVER "vserver";
    237 MBIND "mbind";
    238 SET_MEMPOLICY "set_mempolicy";
    239 GET_MEMPOLICY "get_mempolicy";
    240 MQ_OPEN "mq_open";
    241 MQ_UNLINK "mq_unlink";
    242 MQ_TIMEDSEND "mq_timedsend";
    243 MQ_TIMEDRECEIVE "mq_timedreceive";
    244 MQ_NOTIFY "mq_notify";
    245 MQ_GETSETATTR "mq_getsetattr";
    246 KEXEC_LOAD "kexec_load";
    247 WAITID "waitid";
    248 ADD_KEY "add_key";
    249 REQUEST_KEY "request_key";
    250 KEYCTL "keyctl";
    251 IOPRIO_SET "ioprio_set";
    252 IOPRIO_GET "ioprio_get";
    253 INOTIFY_INIT "inotify_init";
    254 INOTIFY_ADD_WATCH "inotify_add_watch";
    255 INOTIFY_RM_WATCH "inotify_rm_watch";
    256 MIGRATE_PAGES "migrate_pages";
    257 OPENAT "openat";
    258 MKDIRAT "mkdirat";
    259 MKNODAT "mknodat";
    260 FCHOWNAT "fchownat";
    261 FUTIMESAT "futimesat";
    262 NEWFSTATAT "newfstatat";
    263 UNLINKAT "unlinkat";
    264 RENAMEAT "renameat";
    265 LINKAT "linkat";
    266 SYMLINKAT "symlinkat";
    267 READLINKAT "readlinkat";
    268 FCHMODAT "fchmodat";
    269 FACCESSAT "faccessat";
    270 PSELECT6 "pselect6";
    271 PPOLL "ppoll";
    272 UNSHARE "unshare";
    273 SET_ROBUST_LIST "set_robust_list";
    274 GET_ROBUST_LIST "get_robust_list";
    275 SPLICE "splice";
    276 TEE "tee";
    277 SYNC_FILE_RANGE "sync_file_range";
    278 VMSPLICE "vmsplice";
    279 MOVE_PAGES "move_pages";
    280 UTIMENSAT "utimensat";
    281 EPOLL_PWAIT "epoll_pwait";
    282 SIGNALFD "signalfd";
    283 TIMERFD_CREATE "timerfd_create";
    284 EVENTFD "eventfd";
    285 FALLOCATE "fallocate";
    286 TIMERFD_SETTIME "timerfd_settime";
    287 TIMERFD_GETTIME "timerfd_gettime";
    288 ACCEPT4 "accept4";
    289 SIGNALFD4 "signalfd4";
    290 EVENTFD2 "eventfd2";
    291 EPOLL_CREATE1 "epoll_create1";
    292 DUP3 "dup3";
    293 PIPE2 "pipe2";
    294 INOTIFY_INIT1 "inotify_init1";
    295 PREADV "preadv";
    296 PWRITEV "pwritev";
    297 RT_TGSIGQUEUEINFO "rt_tgsigqueueinfo";
    298 PERF_EVENT_OPEN "perf_event_open";
    299 RECVMMSG "recvmmsg";
    300 FANOTIFY_INIT "fanotify_init";
    301 FANOTIFY_MARK "fanotify_mark";
    302 PRLIMIT64 "prlimit64";
    303 NAME_TO_HANDLE_AT "name_to_handle_at";
    304 OPEN_BY_HANDLE_AT "open_by_handle_at";
    305 CLOCK_ADJTIME "clock_adjtime";
    306 SYNCFS "syncfs";
    307 SENDMMSG "sendmmsg";
    308 SETNS "setns";
    309 GETCPU "getcpu";
    310 PROCESS_VM_READV "process_vm_readv";
    311 PROCESS_VM_WRITEV "process_vm_writev";
    312 KCMP "kcmp";
    313 FINIT_MODULE "finit_module";
    314 SCHED_SETATTR "sched_setattr";
    315 SCHED_GETATTR "sched_getattr";
    316 RENAMEAT2 "renameat2";
    317 SECCOMP "seccomp";
    318 GETRANDOM "getrandom";
    319 MEMFD_CREATE "memfd_create";
    320 KEXEC_FILE_LOAD "kexec_file_load";
    321 BPF "bpf";
    322 EXECVEAT "execveat";
    323 USERFAULTFD "userfaultfd";
    324 MEMBARRIER "membarrier";
    325 MLOCK2 "mlock2";
    326 COPY_FILE_RANGE "copy_file_range";
    327 PREADV2 "preadv2";
    328 PWRITEV2 "pwritev2";
    329 PKEY_MPROTECT "pkey_mprotect";
    330 PKEY_ALLOC "pkey_alloc";
    331 PKEY_FREE "pkey_free";
    332 STATX "statx";
    333 IO_PGETEVENTS "io_pgetevents";
    334 RSEQ "rseq";
    335 URETPROBE "uretprobe";
    424 PIDFD_SEND_SIGNAL "pidfd_send_signal";
    425 IO_URING_SETUP "io_uring_setup";
    426 IO_URING_ENTER "io_uring_enter";
    427 IO_URING_REGISTER "io_uring_register";
    428 OPEN_TREE "open_tree";
    429 MOVE_MOUNT "move_mount";
    430 FSOPEN "fsopen";
    431 FSCONFIG "fsconfig";
    432 FSMOUNT "fsmount";
    433 FSPICK "fspick";
    434 PIDFD_OPEN "pidfd_open";
    435 CLONE3 "clone3";
    436 CLOSE_RANGE "close_range";
    437 OPENAT2 "openat2";
    438 PIDFD_GETFD "pidfd_getfd";
    439 FACCESSAT2 "faccessat2";
    440 PROCESS_MADVISE "process_madvise";
    441 EPOLL_PWAIT2 "epoll_pwait2";
    442 MOUNT_SETATTR "mount_setattr";
    443 QUOTACTL_FD "quotactl_fd";
    444 LANDLOCK_CREATE_RULESET "landlock_create_ruleset";
    445 LANDLOCK_ADD_RULE "landlock_add_rule";
    446 LANDLOCK_RESTRICT_SELF "landlock_restrict_self";
    447 MEMFD_SECRET "memfd_secret";
    448 PROCESS_MRELEASE "process_mrelease";
    449 FUTEX_WAITV "futex_waitv";
    450 SET_MEMPOLICY_HOME_NODE "set_mempolicy_home_node";
    451 CACHESTAT "cachestat";
    452 FCHMODAT2 "fchmodat2";
    453 MAP_SHADOW_STACK "map_shadow_stack";
    454 FUTEX_WAKE "futex_wake";
    455 FUTEX_WAIT "futex_wait";
    456 FUTEX_REQUEUE "futex_requeue";
    457 STATMOUNT "statmount";
    458 LISTMOUNT "listmount";
    459 LSM_GET_SELF_ATTR "lsm_get_self_attr";
    460 LSM_SET_SELF_ATTR "lsm_set_self_attr";
    461 LSM_LIST_MODULES "lsm_list_modules";
    462 MSEAL "mseal";
    463 SETXATTRAT "setxattrat";
    464 GETXATTRAT "getxattrat";
    465 LISTXATTRAT "listxattrat";
    466 REMOVEXATTRAT "removexattrat";
    467 OPEN_TREE_ATTR "open_tree_attr";
    468 FILE_GETATTR "file_getattr";
    469 FILE_SETATTR "file_setattr";
}

/// The number of the system call called `name` (strace spelling), if there is one.
pub fn number(name: &str) -> Option<u64> {
    ALL.iter().find(|(_, n)| *n == name).map(|(nr, _)| *nr)
}

/// The highest system call number this table knows.
pub const MAX: u64 = FILE_SETATTR;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_unique_and_consistent() {
        for w in ALL.windows(2) {
            assert!(w[0].0 < w[1].0, "{:?} {:?}", w[0], w[1]);
        }
        for &(nr, n) in ALL {
            assert_eq!(name(nr), Some(n));
            assert_eq!(number(n), Some(nr));
        }
        // Dense from read (0) to uretprobe (335) and from pidfd_send_signal (424) to the end.
        for nr in 0..=335 {
            assert!(name(nr).is_some(), "{nr}");
        }
        for nr in 336..424 {
            assert_eq!(name(nr), None, "{nr}");
        }
        for nr in 424..=MAX {
            assert!(name(nr).is_some(), "{nr}");
        }
        assert_eq!(name(MAX + 1), None);
        assert_eq!(name(u64::MAX), None);
        assert_eq!(number("no_such_call"), None);
    }

    #[test]
    fn spot_checks() {
        assert_eq!((READ, WRITE, OPEN, CLOSE), (0, 1, 2, 3));
        assert_eq!(name(0), Some("read"));
        assert_eq!(name(59), Some("execve"));
        assert_eq!(name(156), Some("_sysctl"));
        assert_eq!(name(262), Some("newfstatat"));
        assert_eq!(name(334), Some("rseq"));
        assert_eq!(name(424), Some("pidfd_send_signal"));
        assert_eq!(name(435), Some("clone3"));
        assert_eq!(name(462), Some("mseal"));
        assert_eq!(EXIT_GROUP, 231);
        assert_eq!(ARCH_PRCTL, 158);
    }
}

#[cfg(all(test, target_os = "linux", target_arch = "x86_64"))]
mod host {
    use super::*;

    #[test]
    fn matches_host_libc() {
        let pairs: &[(u64, libc::c_long)] = &[
            (READ, libc::SYS_read),
            (WRITE, libc::SYS_write),
            (OPEN, libc::SYS_open),
            (CLOSE, libc::SYS_close),
            (STAT, libc::SYS_stat),
            (FSTAT, libc::SYS_fstat),
            (LSTAT, libc::SYS_lstat),
            (POLL, libc::SYS_poll),
            (LSEEK, libc::SYS_lseek),
            (MMAP, libc::SYS_mmap),
            (MPROTECT, libc::SYS_mprotect),
            (MUNMAP, libc::SYS_munmap),
            (BRK, libc::SYS_brk),
            (RT_SIGACTION, libc::SYS_rt_sigaction),
            (RT_SIGPROCMASK, libc::SYS_rt_sigprocmask),
            (RT_SIGRETURN, libc::SYS_rt_sigreturn),
            (IOCTL, libc::SYS_ioctl),
            (PREAD64, libc::SYS_pread64),
            (PWRITE64, libc::SYS_pwrite64),
            (READV, libc::SYS_readv),
            (WRITEV, libc::SYS_writev),
            (ACCESS, libc::SYS_access),
            (PIPE, libc::SYS_pipe),
            (SELECT, libc::SYS_select),
            (SCHED_YIELD, libc::SYS_sched_yield),
            (MREMAP, libc::SYS_mremap),
            (MSYNC, libc::SYS_msync),
            (MINCORE, libc::SYS_mincore),
            (MADVISE, libc::SYS_madvise),
            (SHMGET, libc::SYS_shmget),
            (SHMAT, libc::SYS_shmat),
            (SHMCTL, libc::SYS_shmctl),
            (DUP, libc::SYS_dup),
            (DUP2, libc::SYS_dup2),
            (PAUSE, libc::SYS_pause),
            (NANOSLEEP, libc::SYS_nanosleep),
            (GETITIMER, libc::SYS_getitimer),
            (ALARM, libc::SYS_alarm),
            (SETITIMER, libc::SYS_setitimer),
            (GETPID, libc::SYS_getpid),
            (SENDFILE, libc::SYS_sendfile),
            (SOCKET, libc::SYS_socket),
            (CONNECT, libc::SYS_connect),
            (ACCEPT, libc::SYS_accept),
            (SENDTO, libc::SYS_sendto),
            (RECVFROM, libc::SYS_recvfrom),
            (SENDMSG, libc::SYS_sendmsg),
            (RECVMSG, libc::SYS_recvmsg),
            (SHUTDOWN, libc::SYS_shutdown),
            (BIND, libc::SYS_bind),
            (LISTEN, libc::SYS_listen),
            (GETSOCKNAME, libc::SYS_getsockname),
            (GETPEERNAME, libc::SYS_getpeername),
            (SOCKETPAIR, libc::SYS_socketpair),
            (SETSOCKOPT, libc::SYS_setsockopt),
            (GETSOCKOPT, libc::SYS_getsockopt),
            (CLONE, libc::SYS_clone),
            (FORK, libc::SYS_fork),
            (VFORK, libc::SYS_vfork),
            (EXECVE, libc::SYS_execve),
            (EXIT, libc::SYS_exit),
            (WAIT4, libc::SYS_wait4),
            (KILL, libc::SYS_kill),
            (UNAME, libc::SYS_uname),
            (SEMGET, libc::SYS_semget),
            (SEMOP, libc::SYS_semop),
            (SEMCTL, libc::SYS_semctl),
            (SHMDT, libc::SYS_shmdt),
            (MSGGET, libc::SYS_msgget),
            (MSGSND, libc::SYS_msgsnd),
            (MSGRCV, libc::SYS_msgrcv),
            (MSGCTL, libc::SYS_msgctl),
            (FCNTL, libc::SYS_fcntl),
            (FLOCK, libc::SYS_flock),
            (FSYNC, libc::SYS_fsync),
            (FDATASYNC, libc::SYS_fdatasync),
            (TRUNCATE, libc::SYS_truncate),
            (FTRUNCATE, libc::SYS_ftruncate),
            (GETDENTS, libc::SYS_getdents),
            (GETCWD, libc::SYS_getcwd),
            (CHDIR, libc::SYS_chdir),
            (FCHDIR, libc::SYS_fchdir),
            (RENAME, libc::SYS_rename),
            (MKDIR, libc::SYS_mkdir),
            (RMDIR, libc::SYS_rmdir),
            (CREAT, libc::SYS_creat),
            (LINK, libc::SYS_link),
            (UNLINK, libc::SYS_unlink),
            (SYMLINK, libc::SYS_symlink),
            (READLINK, libc::SYS_readlink),
            (CHMOD, libc::SYS_chmod),
            (FCHMOD, libc::SYS_fchmod),
            (CHOWN, libc::SYS_chown),
            (FCHOWN, libc::SYS_fchown),
            (LCHOWN, libc::SYS_lchown),
            (UMASK, libc::SYS_umask),
            (GETTIMEOFDAY, libc::SYS_gettimeofday),
            (GETRLIMIT, libc::SYS_getrlimit),
            (GETRUSAGE, libc::SYS_getrusage),
            (SYSINFO, libc::SYS_sysinfo),
            (TIMES, libc::SYS_times),
            (PTRACE, libc::SYS_ptrace),
            (GETUID, libc::SYS_getuid),
            (SYSLOG, libc::SYS_syslog),
            (GETGID, libc::SYS_getgid),
            (SETUID, libc::SYS_setuid),
            (SETGID, libc::SYS_setgid),
            (GETEUID, libc::SYS_geteuid),
            (GETEGID, libc::SYS_getegid),
            (SETPGID, libc::SYS_setpgid),
            (GETPPID, libc::SYS_getppid),
            (GETPGRP, libc::SYS_getpgrp),
            (SETSID, libc::SYS_setsid),
            (SETREUID, libc::SYS_setreuid),
            (SETREGID, libc::SYS_setregid),
            (GETGROUPS, libc::SYS_getgroups),
            (SETGROUPS, libc::SYS_setgroups),
            (SETRESUID, libc::SYS_setresuid),
            (GETRESUID, libc::SYS_getresuid),
            (SETRESGID, libc::SYS_setresgid),
            (GETRESGID, libc::SYS_getresgid),
            (GETPGID, libc::SYS_getpgid),
            (SETFSUID, libc::SYS_setfsuid),
            (SETFSGID, libc::SYS_setfsgid),
            (GETSID, libc::SYS_getsid),
            (CAPGET, libc::SYS_capget),
            (CAPSET, libc::SYS_capset),
            (RT_SIGPENDING, libc::SYS_rt_sigpending),
            (RT_SIGTIMEDWAIT, libc::SYS_rt_sigtimedwait),
            (RT_SIGQUEUEINFO, libc::SYS_rt_sigqueueinfo),
            (RT_SIGSUSPEND, libc::SYS_rt_sigsuspend),
            (SIGALTSTACK, libc::SYS_sigaltstack),
            (UTIME, libc::SYS_utime),
            (MKNOD, libc::SYS_mknod),
            (USELIB, libc::SYS_uselib),
            (PERSONALITY, libc::SYS_personality),
            (USTAT, libc::SYS_ustat),
            (STATFS, libc::SYS_statfs),
            (FSTATFS, libc::SYS_fstatfs),
            (SYSFS, libc::SYS_sysfs),
            (GETPRIORITY, libc::SYS_getpriority),
            (SETPRIORITY, libc::SYS_setpriority),
            (SCHED_SETPARAM, libc::SYS_sched_setparam),
            (SCHED_GETPARAM, libc::SYS_sched_getparam),
            (SCHED_SETSCHEDULER, libc::SYS_sched_setscheduler),
            (SCHED_GETSCHEDULER, libc::SYS_sched_getscheduler),
            (SCHED_GET_PRIORITY_MAX, libc::SYS_sched_get_priority_max),
            (SCHED_GET_PRIORITY_MIN, libc::SYS_sched_get_priority_min),
            (SCHED_RR_GET_INTERVAL, libc::SYS_sched_rr_get_interval),
            (MLOCK, libc::SYS_mlock),
            (MUNLOCK, libc::SYS_munlock),
            (MLOCKALL, libc::SYS_mlockall),
            (MUNLOCKALL, libc::SYS_munlockall),
            (VHANGUP, libc::SYS_vhangup),
            (MODIFY_LDT, libc::SYS_modify_ldt),
            (PIVOT_ROOT, libc::SYS_pivot_root),
            (SYSCTL, libc::SYS__sysctl),
            (PRCTL, libc::SYS_prctl),
            (ARCH_PRCTL, libc::SYS_arch_prctl),
            (ADJTIMEX, libc::SYS_adjtimex),
            (SETRLIMIT, libc::SYS_setrlimit),
            (CHROOT, libc::SYS_chroot),
            (SYNC, libc::SYS_sync),
            (ACCT, libc::SYS_acct),
            (SETTIMEOFDAY, libc::SYS_settimeofday),
            (MOUNT, libc::SYS_mount),
            (UMOUNT2, libc::SYS_umount2),
            (SWAPON, libc::SYS_swapon),
            (SWAPOFF, libc::SYS_swapoff),
            (REBOOT, libc::SYS_reboot),
            (SETHOSTNAME, libc::SYS_sethostname),
            (SETDOMAINNAME, libc::SYS_setdomainname),
            (IOPL, libc::SYS_iopl),
            (IOPERM, libc::SYS_ioperm),
            (INIT_MODULE, libc::SYS_init_module),
            (DELETE_MODULE, libc::SYS_delete_module),
            (QUOTACTL, libc::SYS_quotactl),
            (NFSSERVCTL, libc::SYS_nfsservctl),
            (GETPMSG, libc::SYS_getpmsg),
            (PUTPMSG, libc::SYS_putpmsg),
            (AFS_SYSCALL, libc::SYS_afs_syscall),
            (TUXCALL, libc::SYS_tuxcall),
            (SECURITY, libc::SYS_security),
            (GETTID, libc::SYS_gettid),
            (READAHEAD, libc::SYS_readahead),
            (SETXATTR, libc::SYS_setxattr),
            (LSETXATTR, libc::SYS_lsetxattr),
            (FSETXATTR, libc::SYS_fsetxattr),
            (GETXATTR, libc::SYS_getxattr),
            (LGETXATTR, libc::SYS_lgetxattr),
            (FGETXATTR, libc::SYS_fgetxattr),
            (LISTXATTR, libc::SYS_listxattr),
            (LLISTXATTR, libc::SYS_llistxattr),
            (FLISTXATTR, libc::SYS_flistxattr),
            (REMOVEXATTR, libc::SYS_removexattr),
            (LREMOVEXATTR, libc::SYS_lremovexattr),
            (FREMOVEXATTR, libc::SYS_fremovexattr),
            (TKILL, libc::SYS_tkill),
            (TIME, libc::SYS_time),
            (FUTEX, libc::SYS_futex),
            (SCHED_SETAFFINITY, libc::SYS_sched_setaffinity),
            (SCHED_GETAFFINITY, libc::SYS_sched_getaffinity),
            (SET_THREAD_AREA, libc::SYS_set_thread_area),
            (IO_SETUP, libc::SYS_io_setup),
            (IO_DESTROY, libc::SYS_io_destroy),
            (IO_GETEVENTS, libc::SYS_io_getevents),
            (IO_SUBMIT, libc::SYS_io_submit),
            (IO_CANCEL, libc::SYS_io_cancel),
            (GET_THREAD_AREA, libc::SYS_get_thread_area),
            (LOOKUP_DCOOKIE, libc::SYS_lookup_dcookie),
            (EPOLL_CREATE, libc::SYS_epoll_create),
            (EPOLL_CTL_OLD, libc::SYS_epoll_ctl_old),
            (EPOLL_WAIT_OLD, libc::SYS_epoll_wait_old),
            (REMAP_FILE_PAGES, libc::SYS_remap_file_pages),
            (GETDENTS64, libc::SYS_getdents64),
            (SET_TID_ADDRESS, libc::SYS_set_tid_address),
            (RESTART_SYSCALL, libc::SYS_restart_syscall),
            (SEMTIMEDOP, libc::SYS_semtimedop),
            (FADVISE64, libc::SYS_fadvise64),
            (TIMER_CREATE, libc::SYS_timer_create),
            (TIMER_SETTIME, libc::SYS_timer_settime),
            (TIMER_GETTIME, libc::SYS_timer_gettime),
            (TIMER_GETOVERRUN, libc::SYS_timer_getoverrun),
            (TIMER_DELETE, libc::SYS_timer_delete),
            (CLOCK_SETTIME, libc::SYS_clock_settime),
            (CLOCK_GETTIME, libc::SYS_clock_gettime),
            (CLOCK_GETRES, libc::SYS_clock_getres),
            (CLOCK_NANOSLEEP, libc::SYS_clock_nanosleep),
            (EXIT_GROUP, libc::SYS_exit_group),
            (EPOLL_WAIT, libc::SYS_epoll_wait),
            (EPOLL_CTL, libc::SYS_epoll_ctl),
            (TGKILL, libc::SYS_tgkill),
            (UTIMES, libc::SYS_utimes),
            (VSERVER, libc::SYS_vserver),
            (MBIND, libc::SYS_mbind),
            (SET_MEMPOLICY, libc::SYS_set_mempolicy),
            (GET_MEMPOLICY, libc::SYS_get_mempolicy),
            (MQ_OPEN, libc::SYS_mq_open),
            (MQ_UNLINK, libc::SYS_mq_unlink),
            (MQ_TIMEDSEND, libc::SYS_mq_timedsend),
            (MQ_TIMEDRECEIVE, libc::SYS_mq_timedreceive),
            (MQ_NOTIFY, libc::SYS_mq_notify),
            (MQ_GETSETATTR, libc::SYS_mq_getsetattr),
            (KEXEC_LOAD, libc::SYS_kexec_load),
            (WAITID, libc::SYS_waitid),
            (ADD_KEY, libc::SYS_add_key),
            (REQUEST_KEY, libc::SYS_request_key),
            (KEYCTL, libc::SYS_keyctl),
            (IOPRIO_SET, libc::SYS_ioprio_set),
            (IOPRIO_GET, libc::SYS_ioprio_get),
            (INOTIFY_INIT, libc::SYS_inotify_init),
            (INOTIFY_ADD_WATCH, libc::SYS_inotify_add_watch),
            (INOTIFY_RM_WATCH, libc::SYS_inotify_rm_watch),
            (MIGRATE_PAGES, libc::SYS_migrate_pages),
            (OPENAT, libc::SYS_openat),
            (MKDIRAT, libc::SYS_mkdirat),
            (MKNODAT, libc::SYS_mknodat),
            (FCHOWNAT, libc::SYS_fchownat),
            (FUTIMESAT, libc::SYS_futimesat),
            (NEWFSTATAT, libc::SYS_newfstatat),
            (UNLINKAT, libc::SYS_unlinkat),
            (RENAMEAT, libc::SYS_renameat),
            (LINKAT, libc::SYS_linkat),
            (SYMLINKAT, libc::SYS_symlinkat),
            (READLINKAT, libc::SYS_readlinkat),
            (FCHMODAT, libc::SYS_fchmodat),
            (FACCESSAT, libc::SYS_faccessat),
            (PSELECT6, libc::SYS_pselect6),
            (PPOLL, libc::SYS_ppoll),
            (UNSHARE, libc::SYS_unshare),
            (SET_ROBUST_LIST, libc::SYS_set_robust_list),
            (GET_ROBUST_LIST, libc::SYS_get_robust_list),
            (SPLICE, libc::SYS_splice),
            (TEE, libc::SYS_tee),
            (SYNC_FILE_RANGE, libc::SYS_sync_file_range),
            (VMSPLICE, libc::SYS_vmsplice),
            (MOVE_PAGES, libc::SYS_move_pages),
            (UTIMENSAT, libc::SYS_utimensat),
            (EPOLL_PWAIT, libc::SYS_epoll_pwait),
            (SIGNALFD, libc::SYS_signalfd),
            (TIMERFD_CREATE, libc::SYS_timerfd_create),
            (EVENTFD, libc::SYS_eventfd),
            (FALLOCATE, libc::SYS_fallocate),
            (TIMERFD_SETTIME, libc::SYS_timerfd_settime),
            (TIMERFD_GETTIME, libc::SYS_timerfd_gettime),
            (ACCEPT4, libc::SYS_accept4),
            (SIGNALFD4, libc::SYS_signalfd4),
            (EVENTFD2, libc::SYS_eventfd2),
            (EPOLL_CREATE1, libc::SYS_epoll_create1),
            (DUP3, libc::SYS_dup3),
            (PIPE2, libc::SYS_pipe2),
            (INOTIFY_INIT1, libc::SYS_inotify_init1),
            (PREADV, libc::SYS_preadv),
            (PWRITEV, libc::SYS_pwritev),
            (RT_TGSIGQUEUEINFO, libc::SYS_rt_tgsigqueueinfo),
            (PERF_EVENT_OPEN, libc::SYS_perf_event_open),
            (RECVMMSG, libc::SYS_recvmmsg),
            (FANOTIFY_INIT, libc::SYS_fanotify_init),
            (FANOTIFY_MARK, libc::SYS_fanotify_mark),
            (PRLIMIT64, libc::SYS_prlimit64),
            (NAME_TO_HANDLE_AT, libc::SYS_name_to_handle_at),
            (OPEN_BY_HANDLE_AT, libc::SYS_open_by_handle_at),
            (CLOCK_ADJTIME, libc::SYS_clock_adjtime),
            (SYNCFS, libc::SYS_syncfs),
            (SENDMMSG, libc::SYS_sendmmsg),
            (SETNS, libc::SYS_setns),
            (GETCPU, libc::SYS_getcpu),
            (PROCESS_VM_READV, libc::SYS_process_vm_readv),
            (PROCESS_VM_WRITEV, libc::SYS_process_vm_writev),
            (KCMP, libc::SYS_kcmp),
            (FINIT_MODULE, libc::SYS_finit_module),
            (SCHED_SETATTR, libc::SYS_sched_setattr),
            (SCHED_GETATTR, libc::SYS_sched_getattr),
            (RENAMEAT2, libc::SYS_renameat2),
            (SECCOMP, libc::SYS_seccomp),
            (GETRANDOM, libc::SYS_getrandom),
            (MEMFD_CREATE, libc::SYS_memfd_create),
            (KEXEC_FILE_LOAD, libc::SYS_kexec_file_load),
            (BPF, libc::SYS_bpf),
            (EXECVEAT, libc::SYS_execveat),
            (USERFAULTFD, libc::SYS_userfaultfd),
            (MEMBARRIER, libc::SYS_membarrier),
            (MLOCK2, libc::SYS_mlock2),
            (COPY_FILE_RANGE, libc::SYS_copy_file_range),
            (PREADV2, libc::SYS_preadv2),
            (PWRITEV2, libc::SYS_pwritev2),
            (PKEY_MPROTECT, libc::SYS_pkey_mprotect),
            (PKEY_ALLOC, libc::SYS_pkey_alloc),
            (PKEY_FREE, libc::SYS_pkey_free),
            (STATX, libc::SYS_statx),
            (RSEQ, libc::SYS_rseq),
            (PIDFD_SEND_SIGNAL, libc::SYS_pidfd_send_signal),
            (IO_URING_SETUP, libc::SYS_io_uring_setup),
            (IO_URING_ENTER, libc::SYS_io_uring_enter),
            (IO_URING_REGISTER, libc::SYS_io_uring_register),
            (OPEN_TREE, libc::SYS_open_tree),
            (MOVE_MOUNT, libc::SYS_move_mount),
            (FSOPEN, libc::SYS_fsopen),
            (FSCONFIG, libc::SYS_fsconfig),
            (FSMOUNT, libc::SYS_fsmount),
            (FSPICK, libc::SYS_fspick),
            (PIDFD_OPEN, libc::SYS_pidfd_open),
            (CLONE3, libc::SYS_clone3),
            (CLOSE_RANGE, libc::SYS_close_range),
            (OPENAT2, libc::SYS_openat2),
            (PIDFD_GETFD, libc::SYS_pidfd_getfd),
            (FACCESSAT2, libc::SYS_faccessat2),
            (PROCESS_MADVISE, libc::SYS_process_madvise),
            (EPOLL_PWAIT2, libc::SYS_epoll_pwait2),
            (MOUNT_SETATTR, libc::SYS_mount_setattr),
            (QUOTACTL_FD, libc::SYS_quotactl_fd),
            (LANDLOCK_CREATE_RULESET, libc::SYS_landlock_create_ruleset),
            (LANDLOCK_ADD_RULE, libc::SYS_landlock_add_rule),
            (LANDLOCK_RESTRICT_SELF, libc::SYS_landlock_restrict_self),
            (MEMFD_SECRET, libc::SYS_memfd_secret),
            (PROCESS_MRELEASE, libc::SYS_process_mrelease),
            (FUTEX_WAITV, libc::SYS_futex_waitv),
            (SET_MEMPOLICY_HOME_NODE, libc::SYS_set_mempolicy_home_node),
            (FCHMODAT2, libc::SYS_fchmodat2),
            (MSEAL, libc::SYS_mseal),
        ];
        assert!(pairs.len() > 350);
        for &(ours, theirs) in pairs {
            assert_eq!(ours as libc::c_long, theirs);
        }
    }
}
