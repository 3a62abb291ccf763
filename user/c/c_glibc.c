/* c_glibc: a C program linked statically against glibc (gcc -static). glibc's start-up runs
 * arch_prctl, set_tid_address, set_robust_list, rseq, prlimit64, brk, readlink, getrandom,
 * mprotect and friends before main; then this program reports its arguments, environment, a
 * fork/wait round trip, uname, and robust mutexes whose owner thread (made with clone3) ended
 * holding them (EOWNERDEAD, also for a waiter blocked meanwhile), in the conformance protocol
 * of user/tests
 * ("ok NAME" / "not ok NAME: why" / "summary PROGRAM PASSED FAILED"). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>

static int passed, failed;

static void check(int ok, const char *name, const char *why) {
    if (ok) { printf("ok c_glibc.%s\n", name); passed++; }
    else { printf("not ok c_glibc.%s: %s\n", name, why); failed++; }
}

/* Robust mutexes: glibc leaves a dead thread's robust list to the kernel's walk at thread
 * exit (and creates threads with clone3). */
static pthread_mutex_t robust_mutex[2];
static pthread_mutex_t *robust; /* this round's: a stuck one must not block the next round */
static volatile int robust_locked;

static void *lock_and_return(void *arg) {
    (void)arg;
    return (void *)(long)pthread_mutex_lock(robust);
}

static void *lock_sleep_return(void *arg) {
    (void)arg;
    long rc = pthread_mutex_lock(robust);
    robust_locked = 1;
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return (void *)rc;
}

/* A lock that gives up after 5 s (ETIMEDOUT) instead of hanging if the owner's death went
 * unnoticed. */
static int lock_5s(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += 5;
    return pthread_mutex_timedlock(robust, &t);
}

/* The owner thread ends holding the mutex; `wait` also blocks in pthread_mutex_lock meanwhile. */
static void robust_round(const char *name, int wait) {
    char check_name[64];
    pthread_t t;
    void *ret = (void *)-1L;
    int first = -1;
    robust_locked = 0;
    int ok = pthread_create(&t, NULL, wait ? lock_sleep_return : lock_and_return, NULL) == 0;
    if (ok && wait) {
        while (!robust_locked) {
            struct timespec ts = {0, 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        first = lock_5s();
    }
    ok = ok && pthread_join(t, &ret) == 0 && ret == NULL;
    snprintf(check_name, sizeof check_name, "%s_owner_locked", name);
    check(ok, check_name, "the owner thread did not lock or join");
    if (!wait) first = lock_5s();
    snprintf(check_name, sizeof check_name, "%s_lock_eownerdead", name);
    check(first == EOWNERDEAD, check_name, strerror(first));
    snprintf(check_name, sizeof check_name, "%s_consistent_unlock_lock", name);
    if (first != EOWNERDEAD) {
        /* Not ours: a plain lock would wait for the dead owner forever. */
        check(0, check_name, "the lock was not taken");
        return;
    }
    int c = pthread_mutex_consistent(robust);
    int u = pthread_mutex_unlock(robust);
    int l = pthread_mutex_lock(robust);
    int u2 = pthread_mutex_unlock(robust);
    check(c == 0 && u == 0 && l == 0 && u2 == 0, check_name, "not usable after consistent");
}

static void robust_mutexes(void) {
    pthread_mutexattr_t a;
    int rc = pthread_mutexattr_init(&a);
    if (rc == 0) rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (rc == 0) rc = pthread_mutex_init(&robust_mutex[0], &a);
    if (rc == 0) rc = pthread_mutex_init(&robust_mutex[1], &a);
    check(rc == 0, "robust_mutex_init", strerror(rc));
    if (rc != 0) return;
    robust = &robust_mutex[0];
    robust_round("robust_thread_returned", 0);
    robust = &robust_mutex[1];
    robust_round("robust_waiter", 1);
}

int main(int argc, char **argv, char **envp) {
    setvbuf(stdout, NULL, _IONBF, 0);
    /* Arguments and environment as the program sees them (informational lines). */
    for (int i = 0; i < argc; i++) printf("# argv[%d] = \"%s\"\n", i, argv[i]);
    for (char **e = envp; *e; e++) printf("# env %s\n", *e);
    check(argc == 4, "argc", "expected 4 arguments");
    check(argc > 1 && strcmp(argv[1], "alpha") == 0, "argv1", argc > 1 ? argv[1] : "missing");
    check(argc > 2 && strcmp(argv[2], "two words") == 0, "argv2", argc > 2 ? argv[2] : "missing");
    check(argc > 3 && argv[3][0] == '\0', "argv3_empty", argc > 3 ? argv[3] : "missing");
    check(argv[argc] == NULL, "argv_null", "argv not NULL-terminated");
    int n = 0;
    for (char **e = envp; *e; e++) n++;
    check(n == 2, "envc", "expected exactly two variables");
    const char *a = getenv("TINE_A"), *b = getenv("TINE_B");
    check(a && strcmp(a, "1") == 0, "env_a", a ? a : "unset");
    check(b && strcmp(b, "x=y") == 0, "env_b", b ? b : "unset");
    pid_t p = fork();
    if (p == 0) _exit(getppid() > 0 ? 42 : 1);
    int st = 0;
    pid_t w = waitpid(p, &st, 0);
    check(p > 0 && w == p, "waitpid", "waitpid did not return the child");
    check(WIFEXITED(st) && WEXITSTATUS(st) == 42, "exit_status", "child status wrong");
    struct utsname u;
    check(uname(&u) == 0 && strcmp(u.sysname, "Linux") == 0 && strcmp(u.machine, "x86_64") == 0, "uname", "uname");
    char *m = malloc(1 << 20);
    if (m) memset(m, 7, 1 << 20);
    check(m && m[(1 << 20) - 1] == 7, "malloc_1m", "malloc");
    free(m);
    robust_mutexes();
    printf("summary c_glibc %d %d\n", passed, failed);
    return failed != 0;
}
