/* tests/guest/x86/smc.S: self-modifying code. Stores into instructions that have already been
 * executed (so that a decoded copy may be cached) must be seen by the next execution: the next
 * instruction after the store, code on the same page and on another page, an instruction that
 * straddles a page boundary, stores through another virtual alias of the code's physical page,
 * REP MOVSB over code, and patches that change instruction lengths (SDM vol. 3, 8.1.3). */
#define TEST_BASE 0x500
#include "testlib.inc"

        .text
test_main:
/* --- The instruction right after the store, many times with different values. */
        xor %r12d, %r12d
1:      mov %r12d, %edi
        call patch_next
        cmp %r12d, %eax
        jne 2f
        inc %r12d
        cmp $1000, %r12d
        jne 1b
2:      CHECK_EQ %r12, $1000, "the instruction right after a store into it runs with the new bytes"

/* --- Code on the same page as the store, and on another page. */
        call routine_a
        CHECK_EQ %rax, $0x11111111, "same page: original routine"
        mov $0x22222222, %edi
        call patch_routine_a
        CHECK_EQ %rax, $0x22222222, "same page: patched routine"
        call routine_b
        CHECK_EQ %rax, $0x44444444, "other page: original routine"
        mov $0x33333333, %edi
        call patch_routine_b
        CHECK_EQ %rax, $0x33333333, "other page: routine patched from another page"

/* --- An instruction straddling a page boundary (MOVABS with its immediate split). */
        call straddle
        movabs $0x5555555555555555, %rbx
        CHECK_EQ %rax, %rbx, "straddling instruction: original"
        movl $0x66666666, straddle + 6(%rip)  /* the immediate's high half: the second page */
        call straddle
        movabs $0x6666666655555555, %rbx
        CHECK_EQ %rax, %rbx, "straddling instruction: bytes in the second page patched"
        movl $0x77777777, straddle + 2(%rip)  /* the low half: the first page */
        call straddle
        movabs $0x6666666677777777, %rbx
        CHECK_EQ %rax, %rbx, "straddling instruction: bytes in the first page patched"

/* --- Stores through another virtual address of the same physical page. */
        MAP_PAGE 0xb0, alias_page, PTE_P | PTE_RW
        call alias_page
        CHECK_EQ %rax, $0x12121212, "alias: original routine"
        movl $0x34343434, WIN_PAGE(0xb0) + 1
        call alias_page
        CHECK_EQ %rax, $0x34343434, "alias: patched through the window, run at the identity address"
        /* Code run at one window address, patched through another and through the identity map. */
        movl $0x000001b8, SCRATCH(0)           /* mov $1, %eax */
        movw $0xc300, SCRATCH(0) + 4           /* (imm high byte), ret */
        MAP_PAGE 0xb1, SCRATCH(0), PTE_P | PTE_RW
        MAP_PAGE 0xb2, SCRATCH(0), PTE_P | PTE_RW
        call WIN_PAGE(0xb1)
        CHECK_EQ %rax, $1, "two aliases: original routine"
        movl $2, WIN_PAGE(0xb2) + 1
        call WIN_PAGE(0xb1)
        CHECK_EQ %rax, $2, "two aliases: patched through the other alias"
        movl $3, SCRATCH(0) + 1
        call WIN_PAGE(0xb2)
        CHECK_EQ %rax, $3, "two aliases: patched through the identity map, run at the second alias"
        call WIN_PAGE(0xb1)
        CHECK_EQ %rax, $3, "two aliases: and at the first alias"

/* --- REP MOVSB copying new code over executed code. */
        call routine_r
        CHECK_EQ %rax, $0x12345678, "REP MOVSB: original routine"
        lea new_code(%rip), %rsi
        lea routine_r(%rip), %rdi
        mov $(new_code_end - new_code), %ecx
        rep movsb
        call routine_r
        CHECK_EQ %rax, $0x0abcdef0, "REP MOVSB: routine overwritten by a string store"

/* --- Patches that change instruction lengths. */
        call routine_len
        CHECK_EQ %rax, $0, "length change: original XOR NOP NOP NOP RET"
        movabs $0x0000c30000004bb8, %rax    /* mov $0x4b, %eax; ret */
        mov %rax, routine_len(%rip)
        call routine_len
        CHECK_EQ %rax, $0x4b, "length change: 2-byte instruction replaced by a 5-byte one"
        movabs $0x0000c390c0ffc0ff, %rax    /* inc %eax; inc %eax; nop; ret */
        mov %rax, routine_len(%rip)
        mov $0x4b, %eax
        call routine_len
        CHECK_EQ %rax, $0x4d, "length change: 5-byte instruction replaced by two 2-byte ones"
        ret

/* --- Code blocks at fixed page positions. */
        .balign 4096
page_a:
patch_next:
        mov %edi, 1f + 1(%rip)
1:      mov $0, %eax
        ret
routine_a:
        mov $0x11111111, %eax
        ret
patch_routine_a:
        mov %edi, routine_a + 1(%rip)
        jmp routine_a
patch_routine_b:
        mov %edi, routine_b + 1(%rip)
        jmp routine_b
routine_r:
        mov $0x12345678, %eax
        ret
routine_len:
        xor %eax, %eax
        nop
        nop
        nop
        ret
        .fill 8, 1, 0xcc

        .balign 4096
page_b:
routine_b:
        mov $0x44444444, %eax
        ret

        .balign 4096
        .fill 0xffa, 1, 0xcc
straddle:                                /* 10 bytes: 48 b8 imm64, from offset 0xffa */
        movabs $0x5555555555555555, %rax
        ret

        .balign 4096
alias_page:
        mov $0x12121212, %eax
        ret
        .balign 4096

        .data
new_code:
        mov $0x0abcdef0, %eax
        ret
new_code_end:
