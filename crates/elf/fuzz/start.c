/* Tine's ELF fuzz corpus: a program without libc that exits with status 42. It carries a
 * TLS template (counter), a bss (bss) and, in the -pie variants, a dynamic section. */
__thread int counter = 5;
volatile char bss[8192];
void _start(void) {
    bss[42] = 1;
    __asm__ volatile("mov $60, %%eax\n mov $42, %%edi\n syscall" ::: "rax", "rdi");
    for (;;) {}
}
