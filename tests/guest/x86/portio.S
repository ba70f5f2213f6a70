/* tests/guest/x86/portio.S: port I/O to the accelerator tests' port block and
 * machina-testdev-gpio (accel.h), 8-, 16- and 32-bit, string I/O, a loop of round trips, and
 * CPUID. By default the work runs at CPL 3 with IOPL 3; with the command line "kernel" it runs
 * at CPL 0 (a PVM host's KVM, which runs CPL 3 natively but emulates CPL 0, does not honour
 * IOPL 3 at CPL 3: the first OUT takes #GP, and the report says so: check 1 fails with vector
 * 0xd). */
#define TEST_BASE 0x1100
#include "testlib.inc"
#include "accel.h"

#define P_SCRATCH ACC_PORT_BASE
#define P_NOT (ACC_PORT_BASE + 4)
#define P_SINK (ACC_PORT_BASE + 8)
#define P_SUM (ACC_PORT_BASE + 0xc)
#define LOOPS 2000

#define CMDLINE 0x20000

        .text
test_main:
        cmpl $0x6e72656b, CMDLINE      /* "kern" */
        je .Lkernel
        movq $3, expected_cpl(%rip)
        USE_UD2_RETURN
        RUN_USER user_main, rflags=0x3202
        CHECK_EQ MB_VEC, $VEC_RETURN, "the user code returned through its gate"
        ret
.Lkernel:
        TRY .Lkernel_back
        jmp user_main
.Lkernel_back:
        movq $0, gt_recover_rip(%rip)
        CHECK_EQ MB_VEC, $VEC_RETURN, "the kernel-mode body returned through its gate"
        ret

user_main:
        mov %cs, %eax
        and $3, %eax
        CHECK_EQ %rax, expected_cpl(%rip), "running at the expected CPL"
        /* 32-bit */
        mov $P_SCRATCH, %edx
        mov $0x12345678, %eax
        out %eax, %dx
        xor %eax, %eax
        in %dx, %eax
        CHECK_EQ %rax, $0x12345678, "inl returns what outl stored"
        mov $P_NOT, %edx
        in %dx, %eax
        CHECK_EQ %rax, $0xedcba987, "inl of the complement register"
        /* 16-bit */
        mov $P_SCRATCH, %edx
        mov $0xbeef, %eax
        out %ax, %dx
        mov $-1, %rax
        in %dx, %ax
        CHECK_EQ %rax, $0xffffffffffffbeef, "inw returns what outw stored (upper bits kept)"
        /* 8-bit (the checks clobber %rdx: the port again) */
        mov $P_SCRATCH, %edx
        mov $0x5a, %eax
        out %al, %dx
        xor %eax, %eax
        in %dx, %al
        CHECK_EQ %rax, $0x5a, "inb returns what outb stored"
        /* String output: 16 bytes into the sink. */
        lea out_bytes(%rip), %rsi
        mov $16, %ecx
        mov $P_SINK, %edx
        cld
        rep outsb
        CHECK_EQ %rcx, $0, "rep outsb consumed its count"
        mov $P_SUM, %edx
        in %dx, %eax
        CHECK_EQ %rax, $((16 << 24) | 136), "the sink saw 16 bytes summing to 136"
        /* String input: 8 bytes of the scratch register (0x5a). */
        lea in_bytes(%rip), %rdi
        mov $8, %ecx
        mov $P_SCRATCH, %edx
        rep insb
        CHECK_EQ in_bytes(%rip), $0x5a5a5a5a5a5a5a5a, "rep insb read the scratch register 8 times"
        /* A real device model: machina-testdev-gpio's output register. */
        mov $ACC_GPIO_OUT, %edx
        mov $0xa5, %eax
        out %al, %dx
        xor %eax, %eax
        in %dx, %al
        CHECK_EQ %rax, $0xa5, "testdev-gpio keeps its output byte"
        /* Round trips: write i, read ~i. */
        xor %ebx, %ebx
1:      mov $P_SCRATCH, %edx
        mov %ebx, %eax
        out %eax, %dx
        mov $P_NOT, %edx
        in %dx, %eax
        not %eax
        cmp %eax, %ebx
        jne 2f
        inc %ebx
        cmp $LOOPS, %ebx
        jne 1b
2:      CHECK_EQ %rbx, $LOOPS, "every round trip read back the complement"
        /* CPUID from user mode: the qemu64 model's signature and long mode. */
        mov $1, %eax
        cpuid
        CHECK_EQ %rax, $0x60fb1, "CPUID.1 EAX: qemu64 family 15 model 107 stepping 1"
        mov $0x80000001, %eax
        cpuid
        mov %rdx, %rax
        and $(1 << 29), %eax
        CHECK_EQ %rax, $(1 << 29), "CPUID.80000001 EDX.LM"
        cmpq $0, expected_cpl(%rip)
        je 3f
        USER_RETURN
3:      movq $VEC_RETURN, MB_VEC       /* CPL 0: back to test_main (PVM cannot emulate INT n) */
        jmp .Lkernel_back

        .data
        .balign 8
expected_cpl:
        .quad 0
out_bytes:
        .byte 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
        .balign 8
in_bytes:
        .quad 0
