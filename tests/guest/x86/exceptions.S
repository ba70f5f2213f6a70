/* tests/guest/x86/exceptions.S: exception delivery in 64-bit mode (SDM vol. 3, ch. 6): vectors,
 * error codes and the pushed RIP of faults and traps, segment-load faults, not-present gates,
 * the stack switch to RSP0 and to IST stacks, stack alignment, interrupt vs trap gates, and the
 * double-fault rules (table 6-5). */
#define TEST_BASE 0x300
#include "testlib.inc"

/* A hook that records the handler's own RFLAGS, CS and SS, then lets the recovery point run. */
.macro RECORD_HANDLER_STATE
        lea hook_record(%rip), %rax
        mov %rax, gt_exc_hook(%rip)
.endm
.macro NO_HOOK
        movq $0, gt_exc_hook(%rip)
.endm

        .text
test_main:
/* --- Faults push the faulting instruction's RIP, traps the next one. */
        TRY 1f
        xor %ecx, %ecx
        mov $1, %eax
        xor %edx, %edx
10:     div %ecx
1:      CAUGHT "DIV by zero raises an exception"
        CHECK_EXC $0, $0, $10b, "#DE (divide by zero)"
        TRY 1f
        mov $1, %ecx
        mov $1, %edx
        xor %eax, %eax
10:     div %ecx                         /* 2^32 / 1 does not fit in 32 bits */
1:      CAUGHT "DIV with a quotient overflow raises an exception"
        CHECK_EXC $0, $0, $10b, "#DE (quotient overflow)"
        TRY 1f
10:     ud2
1:      CAUGHT "UD2 raises an exception"
        CHECK_EXC $6, $0, $10b, "#UD (UD2)"
        TRY 1f
10:     .byte 0x06                       /* PUSH ES: invalid in 64-bit mode */
1:      CAUGHT "PUSH ES in 64-bit mode raises an exception"
        CHECK_EXC $6, $0, $10b, "#UD (PUSH ES in 64-bit mode)"
        TRY 1f
        int3
10:
1:      CAUGHT "INT3 raises an exception"
        CHECK_EXC $3, $0, $10b, "#BP (INT3: RIP of the next instruction)"
        TRY 1f
        int $3
10:
1:      CAUGHT "INT 3 raises an exception"
        CHECK_EXC $3, $0, $10b, "#BP (INT 3: RIP of the next instruction)"
        /* A trap handler that returns with IRETQ resumes after the INT3. */
        lea hook_resume_add(%rip), %rax
        mov %rax, gt_exc_hook(%rip)
        mov $100, %ebx
        int3
        NO_HOOK
        CHECK_EQ %rbx, $101, "IRETQ from the #BP handler resumes after INT3 with its registers"

/* --- #GP(0) for privileged instructions at CPL 3, #GP for non-canonical addresses. */
        RUN_USER user_hlt
        CHECK_EXC $13, $0, $user_hlt, "HLT at CPL 3: #GP(0)"
        RUN_USER user_mov_cr0
        CHECK_EXC $13, $0, $user_mov_cr0, "MOV from CR0 at CPL 3: #GP(0)"
        RUN_USER user_mov_to_cr3
        CHECK_EXC $13, $0, $user_mov_to_cr3, "MOV to CR3 at CPL 3: #GP(0)"
        RUN_USER user_cli
        CHECK_EXC $13, $0, $user_cli, "CLI at CPL 3 with IOPL 0: #GP(0)"
        RUN_USER user_lidt
        CHECK_EXC $13, $0, $user_lidt, "LIDT at CPL 3: #GP(0)"
        RUN_USER user_invlpg
        CHECK_EXC $13, $0, $user_invlpg, "INVLPG at CPL 3: #GP(0)"
        RUN_USER user_out
        CHECK_EXC $13, $0, $user_out, "OUT at CPL 3 with IOPL 0 and no I/O bitmap: #GP(0)"
        TRY 1f
        movabs $0x0000800000000000, %rbx
10:     mov (%rbx), %rax
1:      CAUGHT "a non-canonical data address raises an exception"
        CHECK_EXC $13, $0, $10b, "non-canonical data address: #GP(0)"

/* --- Segment loads: #GP(selector), #NP(selector), #SS(selector). */
        TRY 1f
        mov $0x1f8, %eax
10:     mov %eax, %ds
1:      CAUGHT "loading a selector beyond the GDT limit raises an exception"
        CHECK_EXC $13, $0x1f8, $10b, "selector beyond the GDT limit: #GP(selector)"
        TRY 1f
        mov $TSS_SEL, %eax
10:     mov %eax, %es
1:      CAUGHT "loading a system-segment selector into ES raises an exception"
        CHECK_EXC $13, $TSS_SEL, $10b, "TSS selector into ES: #GP(selector)"
        TRY 1f
        mov $UDS, %eax
10:     mov %eax, %ss
1:      CAUGHT "loading SS with RPL != CPL raises an exception"
        CHECK_EXC $13, $(UDS & ~3), $10b, "SS with RPL 3 at CPL 0: #GP(selector)"
        TRY 1f
        mov $NP_SEL, %eax
10:     mov %eax, %ds
1:      CAUGHT "loading a not-present data segment raises an exception"
        CHECK_EXC $11, $NP_SEL, $10b, "not-present data segment: #NP(selector)"
        TRY 1f
        mov $NP_SEL, %eax
10:     mov %eax, %ss
1:      CAUGHT "loading SS with a not-present segment raises an exception"
        CHECK_EXC $12, $NP_SEL, $10b, "not-present stack segment: #SS(selector)"
        mov $KDS, %eax
        mov %eax, %ds
        mov %eax, %es
        RUN_USER user_load_kds
        CHECK_EXC $13, $KDS, $user_load_kds_insn, "DPL 0 data segment into DS at CPL 3: #GP(selector)"
        RUN_USER user_load_null_ss
        CHECK_EXC $13, $0, $user_load_null_ss_insn, "null SS at CPL 3: #GP(0)"

/* --- Not-present gates: #NP(vector * 8 + 2 (+1 if external)). */
        SET_GATE 0x82, present=0
        TRY 1f
10:     int $0x82
1:      CAUGHT "INT through a not-present gate raises an exception"
        CHECK_EXC $11, $(0x82 * 8 + 2), $10b, "INT 0x82 through a not-present gate: #NP"
        SET_GATE 6, present=0
        TRY 1f
10:     ud2
1:      CAUGHT "#UD through a not-present gate raises an exception"
        CHECK_EXC $11, $(6 * 8 + 3), $10b, "#UD through a not-present gate: #NP with EXT (benign, then contributory)"
        SET_GATE 6

/* --- Stacks: RSP0 on a change to CPL 0, IST, 16-byte alignment. */
        RECORD_HANDLER_STATE
        RUN_USER user_ud2
        NO_HOOK
        CHECK_EXC $6, $0, $user_ud2_insn, "#UD at CPL 3"
        CHECK_EQ MB_FRAME, $(gt_rsp0_top - 40), "#UD at CPL 3: frame pushed on the TSS's RSP0 stack"
        CHECK_EQ MB_CS, $UCS, "#UD at CPL 3: pushed CS"
        CHECK_EQ MB_SS, $UDS, "#UD at CPL 3: pushed SS"
        CHECK_EQ MB_RSP, $(gt_ustack_top - 8), "#UD at CPL 3: pushed RSP"
        CHECK_BITS MB_RFLAGS, $0x200, $0x200, "#UD at CPL 3: pushed RFLAGS has IF"
        CHECK_EQ h_ss(%rip), $0, "#UD at CPL 3: the handler runs with a null SS"
        CHECK_EQ h_cs(%rip), $KCS, "#UD at CPL 3: the handler runs with the gate's CS"
        CHECK_BITS h_rflags(%rip), $0x200, $0, "an interrupt gate clears IF"
        SET_GATE 6, type=0xf
        RECORD_HANDLER_STATE
        RUN_USER user_ud2
        NO_HOOK
        SET_GATE 6
        CHECK_EQ MB_VEC, $6, "#UD at CPL 3 through a trap gate"
        CHECK_BITS h_rflags(%rip), $0x200, $0x200, "a trap gate keeps IF"

        SET_GATE 3, ist=1
        mov %rsp, %rbx
        TRY 1f
        int3
10:
1:      CAUGHT "INT3 through an IST gate raises an exception"
        CHECK_EXC $3, $0, $10b, "#BP through IST1"
        CHECK_EQ MB_FRAME, $(gt_ist1_top - 40), "#BP through IST1: frame on the IST1 stack"
        CHECK_EQ MB_RSP, %rbx, "#BP through IST1: pushed RSP is the interrupted one"
        SET_GATE 3, ist=1, dpl=3
        RUN_USER user_int3
        CHECK_EQ MB_VEC, $3, "#BP at CPL 3 through a DPL 3 IST gate"
        CHECK_EQ MB_FRAME, $(gt_ist1_top - 40), "#BP at CPL 3: IST1 takes precedence over RSP0"
        SET_GATE 3

        /* RSP is aligned down to 16 bytes before the frame is pushed. */
        mov %rsp, %r13
        and $~15, %rsp
        sub $8, %rsp                     /* RSP = 8 mod 16 */
        lea -8 - 40(%rsp), %rbx          /* aligned down, then the RIP slot of the frame */
        TRY 1f
        ud2
1:      CAUGHT "UD2 with RSP = 8 mod 16"
        CHECK_EQ MB_FRAME, %rbx, "frame of an exception without error code, RSP = 8 mod 16"
        TRY 1f
        mov $0x1f8, %eax
        mov %eax, %ds
1:      CAUGHT "#GP with RSP = 8 mod 16"
        CHECK_EQ MB_FRAME, %rbx, "frame of an exception with error code, RSP = 8 mod 16"
        mov %r13, %rsp

        /* A non-canonical stack reference is #SS(0) (delivered on IST1). */
        SET_GATE 12, ist=1
        TRY 1f
        movabs $0x0000800000000008, %rax  /* the push writes at 0x0000800000000000 */
        mov %rax, %rsp
10:     push %rax
1:      CAUGHT "a push with a non-canonical RSP raises an exception"
        CHECK_EXC $12, $0, $10b, "push with a non-canonical RSP: #SS(0)"
        SET_GATE 12

/* --- Double faults (delivered on IST2); #DF is an abort with error code 0. */
        SET_GATE 13, present=0
        mov MB_COUNT, %r12
        TRY 1f
        mov $0x1f8, %eax
        mov %eax, %ds
1:      CAUGHT "#GP with a not-present #GP gate raises an exception"
        CHECK_EQ MB_VEC, $8, "#GP, then #NP delivering it: #DF"
        CHECK_EQ MB_ERR, $0, "#DF: error code 0"
        CHECK_EQ MB_FRAME, $(gt_ist2_top - 40), "#DF: frame on the IST2 stack"
        inc %r12
        CHECK_EQ MB_COUNT, %r12, "#DF: one handler invocation"
        SET_GATE 13

        SET_GATE 0, present=0
        TRY 1f
        xor %ecx, %ecx
        div %ecx
1:      CAUGHT "#DE with a not-present #DE gate raises an exception"
        CHECK_EQ MB_VEC, $8, "#DE, then #NP delivering it: #DF"
        SET_GATE 0

        SET_GATE 14, present=0
        UNMAP_PAGE 0xa1
        TRY 1f
        mov WIN_PAGE(0xa1), %rax
1:      CAUGHT "#PF with a not-present #PF gate raises an exception"
        CHECK_EQ MB_VEC, $8, "#PF, then #NP delivering it: #DF"
        SET_GATE 14

        UNMAP_PAGE 0xa0
        TRY 1f
        mov $(WIN_PAGE(0xa0) + 0x800), %rsp
        mov WIN_PAGE(0xa1), %rax
1:      CAUGHT "#PF with a not-present stack raises an exception"
        CHECK_EQ MB_VEC, $8, "#PF, then #PF pushing its frame: #DF"
        CHECK_EQ MB_ERR, $0, "#PF, then #PF: #DF error code 0"
        ret

/* Hooks (called by the common handler with %rdi = saved area). */
hook_record:
        pushfq
        pop %rax
        mov %rax, h_rflags(%rip)
        xor %eax, %eax
        mov %ss, %ax
        mov %rax, h_ss(%rip)
        mov %cs, %ax
        mov %rax, h_cs(%rip)
        mov $1, %eax                     /* go on to the recovery point */
        ret
hook_resume_add:
        incq SV_RBX(%rdi)
        xor %eax, %eax                   /* IRETQ */
        ret

/* --- User-mode parts. */
user_hlt:
        hlt
user_mov_cr0:
        mov %cr0, %rax
user_mov_to_cr3:
        mov %rax, %cr3
user_cli:
        cli
user_lidt:
        lidt gt_idt_ptr(%rip)
user_invlpg:
        invlpg (%rsp)
user_out:
        out %al, $0x80
user_load_kds:
        mov $KDS, %eax
user_load_kds_insn:
        mov %eax, %ds
        int $VEC_RETURN
user_load_null_ss:
        xor %eax, %eax
user_load_null_ss_insn:
        mov %eax, %ss
        int $VEC_RETURN
user_ud2:
        push %rax
user_ud2_insn:
        ud2
user_int3:
        int3
        int $VEC_RETURN

        .data
        .balign 8
h_rflags: .quad 0
h_ss:   .quad 0
h_cs:   .quad 0
