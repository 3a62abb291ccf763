#!/bin/sh
# Rebuilds the gcc-*.elf inputs of corpus/parse from start.c: tiny real executables (static,
# static-PIE, PIE with PT_INTERP, one RWX segment, an executable stack), each with a TLS
# template and a bss. Run from this directory; the other corpus files are kept as they are.
set -e
F="-nostdlib -Os -fno-asynchronous-unwind-tables -fno-stack-protector -Wl,--build-id=none -s"
out=corpus/parse
gcc $F -static -o $out/gcc-static.elf start.c
gcc $F -static-pie -fPIE -o $out/gcc-static-pie.elf start.c
gcc $F -static -Wl,-z,noseparate-code -o $out/gcc-static-noseparate-code.elf start.c
gcc $F -static -Wl,-N -o $out/gcc-static-omagic.elf start.c 2>/dev/null
gcc $F -fPIE -pie -Wl,--dynamic-linker=/lib64/ld-linux-x86-64.so.2 -o $out/gcc-pie-interp.elf start.c
gcc $F -static -Wl,-z,execstack -o $out/gcc-static-execstack.elf start.c
chmod 644 $out/gcc-*.elf
