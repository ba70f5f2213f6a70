/* tests/guest/x86/compat.S: compatibility mode, as a 64-bit kernel runs 32-bit processes:
 * IRETQ from 64-bit mode to a 32-bit code segment at CPL 3, 32-bit code there (the one-byte
 * INC/DEC, operand-size prefixes, a 32-bit stack), INT n, an exception and SYSCALL (through
 * CSTAR) from it back to the 64-bit kernel, and SYSRETL to it. */
#define TEST_BASE 0x900
#include "testlib.inc"

/* Runs `entry` in compatibility mode at CPL 3 (IRETQ: CS = UCS32, SS = UDS) and continues after
 * the macro once the user code takes an exception or interrupt. */
.macro RUN_COMPAT entry, rflags=0x202
        TRY .Lgt_back\@
        pushq $UDS
        lea gt_ustack_top(%rip), %rax
        push %rax
        pushq $\rflags
        pushq $UCS32
        lea \entry(%rip), %rax
        push %rax
        iretq
.Lgt_back\@:
        movq $0, gt_recover_rip(%rip)
.endm

#define LOW32 $0xffffffff

        .text
test_main:
/* --- 32-bit code at CPL 3 after IRETQ, back through INT n (a DPL 3 gate). */
        RUN_COMPAT user_basic
        CHECK_EQ MB_VEC, $VEC_RETURN, "IRETQ to compatibility mode runs the 32-bit code"
        CHECK_EQ MB_CS, $UCS32, "INT from compatibility mode: pushed CS"
        CHECK_EQ MB_SS, $UDS, "INT from compatibility mode: pushed SS"
        CHECK_EQ MB_RIP, $user_basic_end, "INT from compatibility mode: pushed RIP (32 bits)"
        CHECK_EQ MB_RSP, $gt_ustack_top, "INT from compatibility mode: pushed RSP"
        CHECK_BITS MB_REG(R_RBX), LOW32, $12, "32-bit arithmetic and the 32-bit stack"
        CHECK_BITS MB_REG(R_RCX), LOW32, $0x11, "0x41 is INC %ecx in compatibility mode"
        CHECK_BITS MB_REG(R_RSI), LOW32, $0x1234beef, "a 16-bit operand (66) in 32-bit code"
        CHECK_BITS MB_REG(R_RDI), LOW32, $0xfeedf00d, "32-bit addressing reads memory"
        CHECK_BITS MB_REG(R_RDX), LOW32, $(gt_ustack_top - 4), "PUSH moved ESP by 4"
        CHECK_BITS MB_REG(R_RBP), $0xffff, $UCS32, "MOV from CS in compatibility mode"

/* --- An exception in compatibility mode goes to the 64-bit kernel's handler. */
        RUN_COMPAT user_ud
        CHECK_EXC $6, $0, $user_ud_insn, "UD2 in compatibility mode: #UD"
        CHECK_EQ MB_CS, $UCS32, "#UD from compatibility mode: pushed CS"

/* --- SYSCALL from compatibility mode enters at CSTAR; SYSRETL goes back to it. */
        mov $MSR_STAR, %ecx
        xor %eax, %eax
        mov $((0x18 << 16) | 0x08), %edx   /* SYSRET base 0x18 (UCS32 = 0x1b), SYSCALL CS 0x08 */
        wrmsr
        mov $MSR_CSTAR, %ecx
        lea compat_syscall_entry(%rip), %rax
        xor %edx, %edx
        wrmsr
        mov $MSR_LSTAR, %ecx
        lea wrong_entry(%rip), %rax
        wrmsr
        RUN_COMPAT user_syscall
        CHECK_EQ MB_VEC, $VEC_RETURN, "SYSCALL/SYSRETL come back to the 32-bit code"
        CHECK_EQ s_rcx(%rip), $user_after_syscall, "SYSCALL from compatibility mode: RCX = next EIP"
        CHECK_EQ s_cs(%rip), $KCS, "SYSCALL from compatibility mode: CS = STAR[47:32]"
        CHECK_EQ s_r11(%rip), $0x202, "SYSCALL from compatibility mode: R11 = RFLAGS"
        CHECK_BITS MB_REG(R_RCX), $0xffff, $UCS32, "SYSRETL: CS = STAR[63:48], RPL 3"
        CHECK_BITS MB_REG(R_RDX), $0xffff, $UDS, "SYSRETL: SS = STAR[63:48] + 8, RPL 3"
        CHECK_BITS MB_REG(R_RBX), LOW32, $0x77, "SYSRETL: the 32-bit code goes on"
        ret

/* CSTAR's entry point (64-bit mode, CPL 0, still on the user stack): record, return. */
compat_syscall_entry:
        mov %rcx, s_rcx(%rip)
        mov %r11, s_r11(%rip)
        xor %eax, %eax
        mov %cs, %ax
        mov %rax, s_cs(%rip)
        sysretl
wrong_entry:
        FAIL "SYSCALL from compatibility mode entered at LSTAR"
        hlt

/* --- The 32-bit user code. */
        .code32
user_basic:
        mov $5, %eax
        add $7, %eax
        push %eax
        mov %esp, %edx
        pop %ebx
        mov $0x10, %ecx
        inc %ecx                           /* 0x41 */
        mov $0x12345678, %esi
        mov $0xbeef, %si                   /* 66 be ef be */
        mov $value32, %eax
        mov (%eax), %edi
        xor %ebp, %ebp
        mov %cs, %bp
        int $VEC_RETURN
user_basic_end:
user_ud:
        nop
user_ud_insn:
        ud2
user_syscall:
        syscall
user_after_syscall:
        xor %ecx, %ecx
        mov %cs, %cx
        xor %edx, %edx
        mov %ss, %dx
        mov $0x77, %ebx
        int $VEC_RETURN
        .code64

        .data
value32: .long 0xfeedf00d
        .balign 8
s_rcx:  .quad 0
s_r11:  .quad 0
s_cs:   .quad 0
