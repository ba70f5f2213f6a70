/* tests/guest/x86/exitloop.S: the exit benchmark's guest (bench/kvm_exit_bench.cc). The command
 * line (at 0x20000; QEMU's PVH boot puts it there too, see testlib.inc) is a mode letter and a
 * count: "pN" writes an unassigned I/O port (0xf10) N times from CPL 3 with IOPL 3, "PN" the
 * same from CPL 0 (for PVM hosts, whose KVM does not honour IOPL 3 at CPL 3), "mN" an
 * unassigned MMIO address (192 MiB; run with -m 128M) N times from CPL 3; then the guest reports
 * GT_PASS on the debug-exit port. Every write is one exit to the VMM. */
#define TEST_BASE 0x1400
#include "testlib.inc"

#define CMDLINE 0x20000
#define PORT 0xf10
#define MMIO_HOLE 0x0c000000

        .text
test_main:
        movzbl CMDLINE, %eax
        mov %eax, mode(%rip)
        mov $(CMDLINE + 1), %esi
        xor %ecx, %ecx
1:      movzbl (%rsi), %eax
        sub $'0', %eax
        cmp $9, %eax
        ja 2f
        imul $10, %rcx, %rcx
        add %rax, %rcx
        inc %rsi
        jmp 1b
2:      mov %rcx, count(%rip)
        cmpl $'P', mode(%rip)
        je .Lkernel_ports
        USE_UD2_RETURN
        RUN_USER user_main, rflags=0x3002
        CHECK_EQ MB_VEC, $VEC_RETURN, "the user loop returned"
        ret
.Lkernel_ports:
        mov $PORT, %edx
        test %rcx, %rcx
        jz 4f
3:      out %al, %dx
        dec %rcx
        jnz 3b
4:      ret

user_main:
        mov count(%rip), %rcx
        test %rcx, %rcx
        jz 9f
        cmpl $'m', mode(%rip)
        je 5f
        mov $PORT, %edx
3:      out %al, %dx
        dec %rcx
        jnz 3b
        jmp 9f
5:      mov $MMIO_HOLE, %edi
6:      mov %eax, (%rdi)
        dec %rcx
        jnz 6b
9:      USER_RETURN

        .data
        .balign 8
mode:
        .quad 0
count:
        .quad 0
