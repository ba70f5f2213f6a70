/* tests/guest/x86/syscall.S: privilege transitions and system registers: IRETQ to CPL 3,
 * SYSCALL/SYSRETQ with STAR/LSTAR/SFMASK, SWAPGS with KERNEL_GS_BASE, INT n through DPL 3 and
 * DPL 0 gates, RDTSC, CPUID (the qemu64 model machina advertises), RDMSR/WRMSR faults. */
#define TEST_BASE 0x400
#include "testlib.inc"

#define R_R12 12
#define R_R13 13
#define R_R14 14
#define R_R15 15
#define SFMASK_VALUE 0x40700               /* AC, DF, IF, TF */
#define USER_FLAGS 0x40ac3                 /* AC, OF, DF, IF, SF, bit 1, CF */

/* wrmsr of a 64-bit immediate or symbol. Clobbers %rax, %rcx, %rdx. */
.macro WRMSR_VAL msr, value
        mov $(\msr), %ecx
        movabs $(\value), %rax
        mov %rax, %rdx
        shr $32, %rdx
        wrmsr
.endm
.macro WRMSR_SYM msr, sym
        mov $(\msr), %ecx
        lea \sym(%rip), %rax
        mov %rax, %rdx
        shr $32, %rdx
        wrmsr
.endm
/* %rax = rdmsr(msr) as one 64-bit value. Clobbers %rcx, %rdx. */
.macro RDMSR64 msr
        mov $(\msr), %ecx
        rdmsr
        shl $32, %rdx
        or %rdx, %rax
.endm

        .text
test_main:
/* --- MSRs of SYSCALL, and MSR faults. */
        WRMSR_VAL MSR_STAR, ((0x18 << 48) | (0x08 << 32))
        WRMSR_SYM MSR_LSTAR, syscall_entry
        WRMSR_VAL MSR_SFMASK, SFMASK_VALUE
        RDMSR64 MSR_STAR
        movabs $((0x18 << 48) | (0x08 << 32)), %rbx
        CHECK_EQ %rax, %rbx, "STAR reads back"
        RDMSR64 MSR_LSTAR
        CHECK_EQ %rax, $syscall_entry, "LSTAR reads back"
        RDMSR64 MSR_SFMASK
        CHECK_EQ %rax, $SFMASK_VALUE, "SFMASK reads back"
        TRY 1f
        mov $0x12345678, %ecx
10:     rdmsr
1:      CAUGHT "RDMSR of an unknown MSR raises an exception"
        CHECK_EXC $13, $0, $10b, "RDMSR of an unknown MSR: #GP(0)"
        TRY 1f
        mov $0x12345678, %ecx
        xor %eax, %eax
        xor %edx, %edx
10:     wrmsr
1:      CAUGHT "WRMSR of an unknown MSR raises an exception"
        CHECK_EXC $13, $0, $10b, "WRMSR of an unknown MSR: #GP(0)"
        TRY 1f
        mov $MSR_LSTAR, %ecx
        xor %eax, %eax
        mov $0x8000, %edx                  /* 0x0000800000000000: not canonical */
10:     wrmsr
1:      CAUGHT "WRMSR of a non-canonical LSTAR raises an exception"
        CHECK_EXC $13, $0, $10b, "WRMSR of a non-canonical LSTAR: #GP(0)"
        RDMSR64 MSR_LSTAR
        CHECK_EQ %rax, $syscall_entry, "LSTAR unchanged by the faulting WRMSR"
        WRMSR_SYM MSR_LSTAR, syscall_entry
        RUN_USER user_rdmsr
        CHECK_EXC $13, $0, $user_rdmsr_insn, "RDMSR at CPL 3: #GP(0)"

/* --- IRETQ to CPL 3. */
        RUN_USER user_state, USER_FLAGS
        CHECK_EQ MB_VEC, $VEC_RETURN, "IRETQ to CPL 3 runs the user code"
        CHECK_EQ MB_REG(R_RBX), $USER_FLAGS, "after IRETQ to CPL 3: RFLAGS as in the frame"
        CHECK_EQ MB_REG(R_RCX), $UCS, "after IRETQ to CPL 3: CS (RPL 3)"
        CHECK_EQ MB_REG(R_RDX), $UDS, "after IRETQ to CPL 3: SS (RPL 3)"
        CHECK_EQ MB_REG(R_RSP), $gt_ustack_top, "after IRETQ to CPL 3: RSP"
        CHECK_EQ MB_CS, $UCS, "INT from CPL 3: pushed CS"

/* --- SYSCALL and SYSRETQ. */
        mov $MSR_EFER, %ecx
        rdmsr
        and $~EFER_SCE, %eax
        wrmsr
        RUN_USER user_syscall
        CHECK_EXC $6, $0, $user_syscall_insn, "SYSCALL with EFER.SCE=0: #UD"
        mov $MSR_EFER, %ecx
        rdmsr
        or $EFER_SCE, %eax
        wrmsr
        WRMSR_SYM MSR_KERNEL_GS_BASE, percpu
        WRMSR_VAL MSR_GS_BASE, 0
        RUN_USER user_syscall, USER_FLAGS
        CHECK_EQ MB_VEC, $VEC_RETURN, "SYSCALL/SYSRETQ come back to the user code"
        CHECK_EQ s_rcx(%rip), $user_after_syscall, "SYSCALL: RCX = the next instruction"
        CHECK_EQ s_r11(%rip), $USER_FLAGS, "SYSCALL: R11 = RFLAGS"
        CHECK_EQ s_rflags(%rip), $((USER_FLAGS & ~SFMASK_VALUE) | 2), "SYSCALL: RFLAGS masked by SFMASK"
        CHECK_EQ s_cs(%rip), $KCS, "SYSCALL: CS = STAR[47:32]"
        CHECK_EQ s_ss(%rip), $KDS, "SYSCALL: SS = STAR[47:32] + 8"
        CHECK_EQ s_rsp(%rip), $gt_ustack_top, "SYSCALL: RSP unchanged"
        CHECK_EQ s_rdi(%rip), $0x1234, "SYSCALL: other registers unchanged"
        CHECK_EQ MB_REG(R_R13), $USER_FLAGS, "SYSRETQ: RFLAGS = R11"
        CHECK_EQ MB_REG(R_R14), $UCS, "SYSRETQ: CS = STAR[63:48] + 16, RPL 3"
        CHECK_EQ MB_REG(R_R15), $UDS, "SYSRETQ: SS = STAR[63:48] + 8, RPL 3"
        CHECK_EQ MB_REG(R_RSP), $gt_ustack_top, "SYSRETQ: RSP as the kernel left it"
        RDMSR64 MSR_GS_BASE
        CHECK_EQ %rax, $0, "two SWAPGS leave GS_BASE as it was"
        RDMSR64 MSR_KERNEL_GS_BASE
        CHECK_EQ %rax, $percpu, "two SWAPGS leave KERNEL_GS_BASE as it was"

/* --- SWAPGS. */
        WRMSR_SYM MSR_GS_BASE, gs_a
        WRMSR_SYM MSR_KERNEL_GS_BASE, gs_b
        CHECK_EQ %gs:0, $0xaaaa, "GS-relative read through GS_BASE"
        swapgs
        CHECK_EQ %gs:0, $0xbbbb, "after SWAPGS: GS-relative read through the old KERNEL_GS_BASE"
        RDMSR64 MSR_GS_BASE
        CHECK_EQ %rax, $gs_b, "after SWAPGS: GS_BASE"
        RDMSR64 MSR_KERNEL_GS_BASE
        CHECK_EQ %rax, $gs_a, "after SWAPGS: KERNEL_GS_BASE"
        swapgs
        CHECK_EQ %gs:0, $0xaaaa, "SWAPGS again swaps back"
        WRMSR_VAL MSR_GS_BASE, 0
        RUN_USER user_swapgs
        CHECK_EXC $13, $0, $user_swapgs, "SWAPGS at CPL 3: #GP(0)"

/* --- INT n from CPL 3: through a DPL 3 gate it is delivered (and IRETQ returns to CPL 3);
 * through a DPL 0 gate it is #GP(vector * 8 + 2). */
        SET_GATE 0x80, dpl=3
        lea hook_int80(%rip), %rax
        mov %rax, gt_exc_hook(%rip)
        RUN_USER user_int80
        movq $0, gt_exc_hook(%rip)
        CHECK_EQ MB_VEC, $VEC_RETURN, "INT 0x80 from CPL 3 returns with IRETQ to CPL 3"
        CHECK_EQ i_rip(%rip), $user_after_int80, "INT 0x80: pushed RIP = the next instruction"
        CHECK_EQ i_cs(%rip), $UCS, "INT 0x80: pushed CS"
        CHECK_EQ i_ss(%rip), $UDS, "INT 0x80: pushed SS"
        CHECK_EQ i_frame(%rip), $(gt_rsp0_top - 40), "INT 0x80: frame on the RSP0 stack"
        CHECK_EQ MB_REG(R_RAX), $0x66, "INT 0x80: the handler's RAX reaches CPL 3"
        CHECK_EQ i_rax(%rip), $0x55, "INT 0x80: RAX at the INT reaches the handler"
        RUN_USER user_int81
        CHECK_EXC $13, $(0x81 * 8 + 2), $user_int81, "INT 0x81 (DPL 0 gate) from CPL 3: #GP"
        RUN_USER user_int3
        CHECK_EXC $13, $(3 * 8 + 2), $user_int3, "INT3 (DPL 0 gate) from CPL 3: #GP"

/* --- RDTSC. */
        rdtsc
        shl $32, %rdx
        or %rdx, %rax
        mov %rax, %r12
        mov $20000, %ecx
1:      dec %ecx
        jnz 1b
        rdtsc
        shl $32, %rdx
        or %rdx, %rax
        mov %rax, %r13
        CHECK_GT %r13, %r12, "RDTSC increases"
        RUN_USER user_rdtsc
        CHECK_GT MB_REG(R_RBX), %r13, "RDTSC at CPL 3 (CR4.TSD=0) works and increases"
        mov %cr4, %rax
        or $4, %rax                        /* CR4.TSD */
        mov %rax, %cr4
        RUN_USER user_rdtsc
        CHECK_EXC $13, $0, $user_rdtsc, "RDTSC at CPL 3 with CR4.TSD=1: #GP(0)"
        mov %cr4, %rax
        and $~4, %rax
        mov %rax, %cr4

/* --- CPUID: the qemu64 model (src/target/i386/cpu-models.cc). The outputs go to R12-R15 (the
 * checks clobber RAX and RDX). */
.macro CPUID_LEAF leaf
        mov $(\leaf), %eax
        xor %ecx, %ecx
        cpuid
        mov %rax, %r12
        mov %rbx, %r13
        mov %rcx, %r14
        mov %rdx, %r15
.endm
        CPUID_LEAF 0
        CHECK_EQ %r12, $0xd, "CPUID 0: highest basic leaf (as QEMU's qemu64)"
        CHECK_EQ %r13, $0x68747541, "CPUID 0: EBX = Auth"
        CHECK_EQ %r15, $0x69746e65, "CPUID 0: EDX = enti"
        CHECK_EQ %r14, $0x444d4163, "CPUID 0: ECX = cAMD"
        CPUID_LEAF 1
        CHECK_EQ %r12, $0x00060fb1, "CPUID 1: EAX = family 15 model 107 stepping 1"
        CHECK_EQ %r15, $0x0789bb79, "CPUID 1: EDX = FPU PSE TSC MSR PAE CX8 APIC SEP MTRR PGE CMOV PAT CLFLUSH MMX FXSR SSE SSE2"
        CHECK_EQ %r14, $0x80002000, "CPUID 1: ECX = CX16 HYPERVISOR"
        CHECK_BITS %r13, $0xff00ff00, $0x00000800, "CPUID 1: EBX = CLFLUSH line 8 qwords, APIC ID 0"
        CPUID_LEAF 0x80000000
        CHECK_GT %r12, $0x80000007, "CPUID 0x80000000: extended leaves up to 0x80000008 at least"
        CHECK_EQ %r13, $0x68747541, "CPUID 0x80000000: EBX = Auth"
        CPUID_LEAF 0x80000001
        CHECK_EQ %r15, $0x20100800, "CPUID 0x80000001: EDX = SYSCALL NX LM"
        CHECK_EQ %r14, $0x1, "CPUID 0x80000001: ECX = LAHF_LM"
        CPUID_LEAF 0x80000002
        CHECK_EQ %r12, $0x554d4551, "CPUID 0x80000002: brand string starts with QEMU"
        CPUID_LEAF 0x80000008
        CHECK_BITS %r12, $0xffff, $0x3028, "CPUID 0x80000008: 40 physical, 48 linear address bits"
        /* Two of the advertised features, working: LAHF/SAHF in 64-bit mode, CMPXCHG16B. */
        mov $0xd5, %ah
        sahf
        mov $0, %ah
        lahf
        movzbl %ah, %eax
        CHECK_EQ %rax, $0xd7, "LAHF_LM: SAHF then LAHF in 64-bit mode (bit 1 reads as 1)"
        lea cx16_buf(%rip), %rsi
        mov $1, %eax
        mov $2, %edx
        mov $3, %ebx
        mov $4, %ecx
        lock cmpxchg16b (%rsi)
        setz %al
        movzbl %al, %eax
        CHECK_EQ %rax, $1, "CX16: CMPXCHG16B with matching RDX:RAX sets ZF"
        CHECK_EQ cx16_buf(%rip), $3, "CX16: CMPXCHG16B stores RBX"
        CHECK_EQ cx16_buf+8(%rip), $4, "CX16: CMPXCHG16B stores RCX"
        ret

/* SYSCALL entry (CPL 0, user RSP): switch to the kernel stack through the per-CPU area, record
 * the state, return with SYSRETQ. */
syscall_entry:
        swapgs
        mov %rsp, %gs:8
        mov %gs:0, %rsp
        pushfq
        pop s_rflags(%rip)
        mov %rcx, s_rcx(%rip)
        mov %r11, s_r11(%rip)
        mov %rdi, s_rdi(%rip)
        xor %eax, %eax
        mov %cs, %ax
        mov %rax, s_cs(%rip)
        mov %ss, %ax
        mov %rax, s_ss(%rip)
        mov %gs:8, %rsp
        mov %rsp, s_rsp(%rip)
        swapgs
        sysretq

/* INT 0x80 handler hook: record the frame, return 0x66 in RAX with IRETQ. */
hook_int80:
        cmpq $0x80, SV_VEC(%rdi)
        jne 1f
        mov SV_RIP(%rdi), %rax
        mov %rax, i_rip(%rip)
        mov SV_CS(%rdi), %rax
        mov %rax, i_cs(%rip)
        mov SV_SS(%rdi), %rax
        mov %rax, i_ss(%rip)
        lea SV_RIP(%rdi), %rax
        mov %rax, i_frame(%rip)
        mov SV_RAX(%rdi), %rax
        mov %rax, i_rax(%rip)
        movq $0x66, SV_RAX(%rdi)
        xor %eax, %eax
        ret
1:      mov $1, %eax
        ret

/* --- User-mode parts. */
user_rdmsr:
        mov $MSR_EFER, %ecx
user_rdmsr_insn:
        rdmsr
        int $VEC_RETURN
user_state:
        pushfq
        pop %rbx
        xor %ecx, %ecx
        mov %cs, %cx
        xor %edx, %edx
        mov %ss, %dx
        int $VEC_RETURN
user_syscall:
        mov $0x1234, %edi
user_syscall_insn:
        syscall
user_after_syscall:
        pushfq
        pop %r13
        xor %r14d, %r14d
        mov %cs, %r14w
        xor %r15d, %r15d
        mov %ss, %r15w
        int $VEC_RETURN
user_swapgs:
        swapgs
        int $VEC_RETURN
user_int80:
        mov $0x55, %eax
        int $0x80
user_after_int80:
        int $VEC_RETURN
user_int81:
        int $0x81
        int $VEC_RETURN
user_int3:
        int3
        int $VEC_RETURN
user_rdtsc:
        rdtsc
        shl $32, %rdx
        or %rdx, %rax
        mov %rax, %rbx
        int $VEC_RETURN

        .data
        .balign 16
cx16_buf:
        .quad 1, 2
percpu:
        .quad syscall_stack_top            /* kernel stack */
        .quad 0                            /* saved user RSP */
gs_a:   .quad 0xaaaa
gs_b:   .quad 0xbbbb
s_rcx:  .quad 0
s_r11:  .quad 0
s_rflags: .quad 0
s_cs:   .quad 0
s_ss:   .quad 0
s_rsp:  .quad 0
s_rdi:  .quad 0
i_rip:  .quad 0
i_cs:   .quad 0
i_ss:   .quad 0
i_frame: .quad 0
i_rax:  .quad 0

        .bss
        .balign 4096
        .space 4096
syscall_stack_top:
