/* PVH entry: QEMU (or Xen) jumps here in 32-bit protected mode, paging off, with %ebx holding the
 * physical address of `hvm_start_info`. We build throw-away page tables that map
 *   - the first 4 GiB at virtual 0 (identity, so this code keeps running after paging is on),
 *   - the same 4 GiB at the direct-map base 0xffff800000000000,
 *   - the first 1 GiB at the kernel base 0xffffffff80000000,
 * turn on long mode and jump to the higher half. Rust then builds the real tables. */

    .set BOOT_STACK_SIZE, 16384

    .section .note.Xen, "a", @note
    .balign 4
    .long 4                 /* name size: "Xen\0" */
    .long 8                 /* descriptor size */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .quad pvh_start32

    .section .boot.text, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    movl %ebx, %edi                         /* start info, kept for Rust in %edi */
    movl $boot_stack_top, %esp
    rdtsc
    movl %eax, boot_tsc
    movl %edx, boot_tsc + 4

    /* Long mode present? CPUID 0x80000001 EDX bit 29. */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb no_long_mode
    movl $0x80000001, %eax
    cpuid
    btl $29, %edx
    jnc no_long_mode

    /* Four page directories mapping 0..4 GiB with 2 MiB pages (present|write|huge). */
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, boot_pd(,%ecx,8)
    movl %ecx, %eax
    shrl $11, %eax
    movl %eax, boot_pd + 4(,%ecx,8)
    incl %ecx
    cmpl $2048, %ecx
    jne 1b

    /* PDPT for the low 4 GiB: four directories. */
    movl $boot_pd + 0x0003, %eax
    movl %eax, boot_pdpt_low
    addl $0x1000, %eax
    movl %eax, boot_pdpt_low + 8
    addl $0x1000, %eax
    movl %eax, boot_pdpt_low + 16
    addl $0x1000, %eax
    movl %eax, boot_pdpt_low + 24
    /* PDPT for the top 512 GiB: entry 510 (0xffffffff80000000) = first directory. */
    movl $boot_pd + 0x0003, %eax
    movl %eax, boot_pdpt_high + 510 * 8
    /* PML4: 0 (identity), 256 (direct map), 511 (kernel). */
    movl $boot_pdpt_low + 0x0003, %eax
    movl %eax, boot_pml4
    movl %eax, boot_pml4 + 256 * 8
    movl $boot_pdpt_high + 0x0003, %eax
    movl %eax, boot_pml4 + 511 * 8

    movl %cr4, %eax
    orl $(1 << 5), %eax                     /* PAE */
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx                  /* EFER */
    rdmsr
    orl $(1 << 8), %eax                     /* LME */
    wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax                   /* PG | WP | PE */
    movl %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $boot_long_mode

no_long_mode:
    /* Say why on COM1 and stop. */
    movl $no_lm_msg, %esi
2:  movb (%esi), %al
    testb %al, %al
    jz 3f
    movw $0x3f8, %dx
    outb %al, %dx
    incl %esi
    jmp 2b
3:  hlt
    jmp 3b

    .code64
boot_long_mode:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movabsq $hal_boot_high, %rax
    jmp *%rax

    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff                /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff                /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt
no_lm_msg:
    .asciz "Tine: this CPU has no 64-bit long mode; halting.\r\n"

    .global boot_tsc
    .balign 8
boot_tsc:
    .quad 0

    .section .boot.bss, "aw", @nobits
    .balign 4096
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4 * 4096
boot_stack:     .skip BOOT_STACK_SIZE
boot_stack_top:

    /* Higher-half continuation: a higher-half stack, then Rust. */
    .section .text.hal_boot_high, "ax"
    .global hal_boot_high
hal_boot_high:
    movabsq $hal_boot_stack_top, %rsp
    xorl %ebp, %ebp
    /* %edi still holds the start-info physical address (zero-extended by the 32-bit move). */
    call hal_boot_main
4:  hlt
    jmp 4b

    .section .bss.hal_boot_stack, "aw", @nobits
    .balign 4096
    .global hal_boot_stack_guard
hal_boot_stack_guard:               /* left unmapped by boot.rs */
    .skip 4096
hal_boot_stack:
    .skip 65536
hal_boot_stack_top:
