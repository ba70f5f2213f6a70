/* tests/guest/x86/tlb.S: TLB invalidation (SDM vol. 3, 4.10.4): INVLPG, MOV to CR3, global
 * pages (CR4.PGE and the G bit), 2 MiB pages and paging-structure changes.
 *
 * Stale translations are only checked where a CPU must keep them: a global translation across
 * a CR3 load (hardware keeps it unless the TLB evicts it; the pages used here do not share
 * machina's direct-mapped TLB sets with the code, stack or data the test touches meanwhile).
 * Everywhere else the test checks that the new mapping is visible after the invalidation. */
#define TEST_BASE 0x200
#include "testlib.inc"

/* Sets gt_pt_win[n] = phys | flags without invalidating anything. Clobbers %rax, %rdx. */
.macro SET_PTE_ONLY n, phys, flags
        lea \phys, %rax
        movabs $(\flags), %rdx
        or %rdx, %rax
        mov %rax, gt_pt_win + (\n) * 8(%rip)
.endm

.macro TOGGLE_PGE
        mov %cr4, %rax
        and $~CR4_PGE, %rax
        mov %rax, %cr4
        or $CR4_PGE, %rax
        mov %rax, %cr4
.endm

        .text
test_main:
        movq $0xa0, SCRATCH(0)
        movq $0xa1, SCRATCH(1)
        movq $0xa2, SCRATCH(2)

/* --- INVLPG and CR3 loads for a non-global page. */
        MAP_PAGE 0x90, SCRATCH(0), PTE_P | PTE_RW
        CHECK_EQ WIN_PAGE(0x90), $0xa0, "first mapping"
        SET_PTE_ONLY 0x90, SCRATCH(1), PTE_P | PTE_RW
        invlpg WIN_PAGE(0x90)
        CHECK_EQ WIN_PAGE(0x90), $0xa1, "after INVLPG the changed PTE is used"
        SET_PTE_ONLY 0x90, SCRATCH(2), PTE_P | PTE_RW
        RELOAD_CR3
        CHECK_EQ WIN_PAGE(0x90), $0xa2, "after a CR3 load the changed non-global PTE is used"

/* --- A global page survives a CR3 load; INVLPG and a CR4.PGE toggle drop it. */
        MAP_PAGE 0x91, SCRATCH(0), PTE_P | PTE_RW | PTE_G
        CHECK_EQ WIN_PAGE(0x91), $0xa0, "global page: first mapping"
        SET_PTE_ONLY 0x91, SCRATCH(1), PTE_P | PTE_RW | PTE_G
        RELOAD_CR3
        CHECK_EQ WIN_PAGE(0x91), $0xa0, "global page: the translation survives a CR3 load"
        invlpg WIN_PAGE(0x91)
        CHECK_EQ WIN_PAGE(0x91), $0xa1, "global page: INVLPG drops it"
        SET_PTE_ONLY 0x91, SCRATCH(2), PTE_P | PTE_RW | PTE_G
        RELOAD_CR3
        CHECK_EQ WIN_PAGE(0x91), $0xa1, "global page: survives a second CR3 load"
        TOGGLE_PGE
        CHECK_EQ WIN_PAGE(0x91), $0xa2, "global page: clearing and setting CR4.PGE drops it"

/* --- With CR4.PGE = 0 the G bit does not protect a translation from a CR3 load. */
        mov %cr4, %rax
        and $~CR4_PGE, %rax
        mov %rax, %cr4
        MAP_PAGE 0x92, SCRATCH(0), PTE_P | PTE_RW | PTE_G
        CHECK_EQ WIN_PAGE(0x92), $0xa0, "G with PGE=0: first mapping"
        SET_PTE_ONLY 0x92, SCRATCH(1), PTE_P | PTE_RW | PTE_G
        RELOAD_CR3
        CHECK_EQ WIN_PAGE(0x92), $0xa1, "G with CR4.PGE=0: a CR3 load drops the translation"
        mov %cr4, %rax
        or $CR4_PGE, %rax
        mov %rax, %cr4

/* --- Permission changes take effect after INVLPG / a CR3 load. */
        MAP_PAGE 0x93, SCRATCH(3), PTE_P | PTE_RW
        movq $1, WIN_PAGE(0x93)                  /* cached as writable */
        SET_PTE_ONLY 0x93, SCRATCH(3), PTE_P
        invlpg WIN_PAGE(0x93)
        TRY 1f
10:     movq $2, WIN_PAGE(0x93)
1:      CAUGHT "a page made read-only (INVLPG) faults on write"
        CHECK_EXC $14, $3, $10b, "write to a page made read-only"
        CHECK_EQ SCRATCH(3), $1, "write to a page made read-only: memory unchanged"
        MAP_PAGE 0x94, SCRATCH(4), PTE_P | PTE_RW
        mov WIN_PAGE(0x94), %rax
        movq $0, gt_pt_win + 0x94 * 8(%rip)
        RELOAD_CR3
        TRY 1f
10:     mov WIN_PAGE(0x94), %rax
1:      CAUGHT "a page made not present (CR3 load) faults"
        CHECK_EXC $14, $0, $10b, "read of a page made not present"

/* --- A 2 MiB page: INVLPG of any address inside it drops the whole translation. */
        movq $0xb1, 0x888000
        movq $0xb2, 0x8a5000
        movq $0xc1, 0xa88000
        movq $0xc2, 0xaa5000
        movabs $(0x800000 | PTE_P | PTE_RW | PTE_PS), %rax
        mov %rax, gt_pd_win + 8(%rip)
        invlpg WIN + 0x200000
        CHECK_EQ (WIN + 0x200000 + 0x88000), $0xb1, "2 MiB page: first mapping, page 0x88"
        CHECK_EQ (WIN + 0x200000 + 0xa5000), $0xb2, "2 MiB page: first mapping, page 0xa5"
        movabs $(0xa00000 | PTE_P | PTE_RW | PTE_PS), %rax
        mov %rax, gt_pd_win + 8(%rip)
        invlpg WIN + 0x200000 + 0x1ff000         /* a 4 KiB page of it never accessed */
        CHECK_EQ (WIN + 0x200000 + 0x88000), $0xc1, "2 MiB page: INVLPG elsewhere in the page drops page 0x88"
        CHECK_EQ (WIN + 0x200000 + 0xa5000), $0xc2, "2 MiB page: INVLPG elsewhere in the page drops page 0xa5"
        movabs $(0x800000 | PTE_P | PTE_RW | PTE_PS), %rax
        mov %rax, gt_pd_win + 8(%rip)
        RELOAD_CR3
        CHECK_EQ (WIN + 0x200000 + 0x88000), $0xb1, "2 MiB page: a CR3 load drops it"

/* --- INVLPG also drops cached paging-structure entries: the PDE now points elsewhere. */
        lea SCRATCH(0), %rax
        or $(PTE_P | PTE_RW), %rax
        mov %rax, pt_d1 + 0x90 * 8(%rip)
        lea SCRATCH(1), %rax
        or $(PTE_P | PTE_RW), %rax
        mov %rax, pt_d2 + 0x90 * 8(%rip)
        lea pt_d1(%rip), %rax
        or $(PTE_P | PTE_RW), %rax
        mov %rax, gt_pd_win + 6 * 8(%rip)
        invlpg WIN + 6 * 0x200000 + 0x90000
        CHECK_EQ (WIN + 6 * 0x200000 + 0x90000), $0xa0, "PDE change: first page table"
        lea pt_d2(%rip), %rax
        or $(PTE_P | PTE_RW), %rax
        mov %rax, gt_pd_win + 6 * 8(%rip)
        invlpg WIN + 6 * 0x200000 + 0x90000
        CHECK_EQ (WIN + 6 * 0x200000 + 0x90000), $0xa1, "PDE change: INVLPG makes the new page table used"

/* --- The same rules for user-mode translations. */
        MAP_PAGE 0x95, SCRATCH(0), PTE_P | PTE_RW | PTE_US
        RUN_USER user_read_95
        CHECK_EQ MB_REG(R_RBX), $0xa0, "user page: first mapping"
        SET_PTE_ONLY 0x95, SCRATCH(1), PTE_P | PTE_RW | PTE_US
        RELOAD_CR3
        RUN_USER user_read_95
        CHECK_EQ MB_REG(R_RBX), $0xa1, "user page: a CR3 load makes the changed PTE used"
        MAP_PAGE 0x96, SCRATCH(0), PTE_P | PTE_RW | PTE_US | PTE_G
        RUN_USER user_read_96
        CHECK_EQ MB_REG(R_RBX), $0xa0, "global user page: first mapping"
        SET_PTE_ONLY 0x96, SCRATCH(1), PTE_P | PTE_RW | PTE_US | PTE_G
        RELOAD_CR3
        RUN_USER user_read_96
        CHECK_EQ MB_REG(R_RBX), $0xa0, "global user page: survives a CR3 load"
        invlpg WIN_PAGE(0x96)
        RUN_USER user_read_96
        CHECK_EQ MB_REG(R_RBX), $0xa1, "global user page: INVLPG drops it"
        /* A user page made supervisor-only (INVLPG) faults at CPL 3. */
        SET_PTE_ONLY 0x95, SCRATCH(1), PTE_P | PTE_RW
        invlpg WIN_PAGE(0x95)
        RUN_USER user_read_95
        CHECK_EXC $14, $5, $user_read_95, "user read of a page made supervisor-only"
        ret

user_read_95:
        mov WIN_PAGE(0x95), %rbx
        int $VEC_RETURN
user_read_96:
        mov WIN_PAGE(0x96), %rbx
        int $VEC_RETURN

        .bss
        .balign 4096
pt_d1:  .space 4096
pt_d2:  .space 4096
