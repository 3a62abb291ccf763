/* c_glibc: a C program linked statically against glibc (gcc -static). glibc's start-up runs
 * arch_prctl, set_tid_address, set_robust_list, rseq, prlimit64, brk, readlink, getrandom,
 * mprotect and friends before main; then this program reports its arguments, environment, a
 * fork/wait round trip and uname, in the conformance protocol of user/tests
 * ("ok NAME" / "not ok NAME: why" / "summary PROGRAM PASSED FAILED"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sys/wait.h>

static int passed, failed;

static void check(int ok, const char *name, const char *why) {
    if (ok) { printf("ok c_glibc.%s\n", name); passed++; }
    else { printf("not ok c_glibc.%s: %s\n", name, why); failed++; }
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
    printf("summary c_glibc %d %d\n", passed, failed);
    return failed != 0;
}
