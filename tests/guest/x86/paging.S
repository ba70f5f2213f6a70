/* tests/guest/x86/paging.S: 4-level paging with 4 KiB and 2 MiB pages: #PF error codes and CR2
 * (not present, CR0.WP, user/supervisor, NX, reserved bits), accessed and dirty bits, and
 * large pages (SDM vol. 3, 4.5-4.8). */
#define TEST_BASE 0x100
#include "testlib.inc"

/* gt_pd_win[i] = phys | flags, INVLPG of its first page. Clobbers %rax, %rdx. */
.macro SET_PDE i, phys, flags
        lea \phys, %rax
        movabs $(\flags), %rdx
        or %rdx, %rax
        mov %rax, gt_pd_win + (\i) * 8(%rip)
        invlpg WIN + (\i) * 0x200000
.endm
/* gt_pd_win[i] = value (a physical address with flags). */
.macro SET_PDE_ABS i, value
        movabs $(\value), %rax
        mov %rax, gt_pd_win + (\i) * 8(%rip)
        invlpg WIN + (\i) * 0x200000
.endm

        .text
test_main:
/* --- Not present: read and write. */
        UNMAP_PAGE 0x80
        TRY 1f
10:     mov WIN_PAGE(0x80) + 0x123, %rax
1:      CAUGHT "read of a not-present page faults"
        CHECK_EXC $14, $0, $10b, "not-present read"
        CHECK_EQ MB_CR2, $(WIN_PAGE(0x80) + 0x123), "not-present read: CR2 is the address read"
        CHECK_EQ MB_CS, $KCS, "not-present read: pushed CS"
        TRY 1f
10:     movl $1, WIN_PAGE(0x80) + 0xffc
1:      CAUGHT "write to a not-present page faults"
        CHECK_EXC $14, $2, $10b, "not-present write"
        CHECK_EQ MB_CR2, $(WIN_PAGE(0x80) + 0xffc), "not-present write: CR2"

/* --- Supervisor write to a read-only page: faults with CR0.WP = 1, succeeds with WP = 0. */
        MAP_PAGE 0x81, SCRATCH(1), PTE_P
        movq $0x1111, SCRATCH(1) + 8
        mov WIN_PAGE(0x81) + 8, %rbx
        CHECK_EQ %rbx, $0x1111, "read of a read-only page"
        TRY 1f
10:     movq $0x2222, WIN_PAGE(0x81) + 8
1:      CAUGHT "supervisor write to a read-only page with CR0.WP=1 faults"
        CHECK_EXC $14, $3, $10b, "read-only write with WP=1"
        CHECK_EQ MB_CR2, $(WIN_PAGE(0x81) + 8), "read-only write with WP=1: CR2"
        CHECK_EQ SCRATCH(1)+8, $0x1111, "read-only write with WP=1: memory unchanged"
        CHECK_BITS (gt_pt_win + 0x81 * 8), $(PTE_A | PTE_D), $PTE_A, "a faulting write does not set D"
        mov %cr0, %rax
        and $~CR0_WP, %rax
        mov %rax, %cr0
        movq $0x3333, WIN_PAGE(0x81) + 8
        CHECK_EQ SCRATCH(1)+8, $0x3333, "supervisor write to a read-only page with WP=0 succeeds"
        CHECK_BITS (gt_pt_win + 0x81 * 8), $PTE_D, $PTE_D, "the WP=0 write sets D"
        mov %cr0, %rax
        or $CR0_WP, %rax
        mov %rax, %cr0
        invlpg WIN_PAGE(0x81)
        TRY 1f
10:     movq $0x4444, WIN_PAGE(0x81) + 8
1:      CAUGHT "with WP=1 again the write faults again"
        CHECK_EXC $14, $3, $10b, "read-only write with WP back to 1"
        CHECK_EQ SCRATCH(1)+8, $0x3333, "read-only write with WP back to 1: memory unchanged"

/* --- User accesses. */
        MAP_PAGE 0x82, SCRATCH(2), PTE_P | PTE_RW
        movq $0x5555, SCRATCH(2) + 0x10
        mov WIN_PAGE(0x82) + 0x10, %rbx      /* cached for supervisor use */
        CHECK_EQ %rbx, $0x5555, "supervisor read of a supervisor page"
        RUN_USER user_read_supervisor
        CHECK_EXC $14, $5, $user_read_supervisor, "user read of a supervisor page"
        CHECK_EQ MB_CR2, $(WIN_PAGE(0x82) + 0x10), "user read of a supervisor page: CR2"
        CHECK_EQ MB_CS, $UCS, "user read of a supervisor page: pushed CS"
        CHECK_EQ MB_SS, $UDS, "user read of a supervisor page: pushed SS"
        CHECK_EQ MB_RSP, $gt_ustack_top, "user read of a supervisor page: pushed RSP"
        RUN_USER user_write_supervisor
        CHECK_EXC $14, $7, $user_write_supervisor, "user write to a supervisor page"

        MAP_PAGE 0x83, SCRATCH(3), PTE_P | PTE_US
        movq $0x6666, SCRATCH(3)
        RUN_USER user_read_then_write_ro
        CHECK_EQ MB_REG(R_RBX), $0x6666, "user read of a read-only user page"
        CHECK_EXC $14, $7, $user_write_ro, "user write to a read-only user page"
        CHECK_EQ MB_CR2, $(WIN_PAGE(0x83) + 0x18), "user write to a read-only user page: CR2"
        CHECK_EQ SCRATCH(3)+0x18, $0, "user write to a read-only user page: memory unchanged"
        /* A user read-write page works from CPL 3. */
        MAP_PAGE 0x84, SCRATCH(4), PTE_P | PTE_RW | PTE_US
        RUN_USER user_write_rw
        CHECK_EQ MB_VEC, $VEC_RETURN, "user write to a user read-write page succeeds"
        CHECK_EQ SCRATCH(4)+0x20, $0x7777, "user write to a user read-write page: memory"

        /* U/S is the AND over the levels: a PDE without U/S denies user access. */
        SET_PDE 3, pt_b, PTE_P | PTE_RW
        lea SCRATCH(4), %rax
        or $(PTE_P | PTE_RW | PTE_US), %rax
        mov %rax, pt_b(%rip)
        invlpg WIN + 3 * 0x200000
        mov WIN + 3 * 0x200000 + 0x20, %rbx
        CHECK_EQ %rbx, $0x7777, "supervisor read through a supervisor PDE"
        RUN_USER user_read_pde_supervisor
        CHECK_EXC $14, $5, $user_read_pde_supervisor, "user read through a supervisor PDE"

/* --- No-execute. */
        movb $0xc3, SCRATCH(5)               /* ret */
        MAP_PAGE 0x85, SCRATCH(5), PTE_P | PTE_RW | PTE_NX
        TRY 1f
        call WIN_PAGE(0x85)
1:      CAUGHT "fetch from an NX page faults"
        CHECK_EXC $14, $0x11, $WIN_PAGE(0x85), "fetch from an NX page"
        CHECK_EQ MB_CR2, $WIN_PAGE(0x85), "fetch from an NX page: CR2"
        movzbl WIN_PAGE(0x85), %eax          /* NX pages stay readable */
        CHECK_EQ %rax, $0xc3, "read of an NX page"
        MAP_PAGE 0x85, SCRATCH(5), PTE_P | PTE_RW
        call WIN_PAGE(0x85)                  /* executes without NX */
        /* NX in a 2 MiB PDE. */
        SET_PDE_ABS 4, 0x1000000 | PTE_P | PTE_RW | PTE_PS | PTE_NX
        TRY 1f
        call WIN + 4 * 0x200000 + 0x40
1:      CAUGHT "fetch from an NX 2 MiB page faults"
        CHECK_EXC $14, $0x11, $(WIN + 4 * 0x200000 + 0x40), "fetch from an NX 2 MiB page"
        /* With EFER.NXE = 0, bit 63 is reserved. */
        MAP_PAGE 0x86, SCRATCH(6), PTE_P | PTE_RW | PTE_NX
        mov $MSR_EFER, %ecx
        rdmsr
        and $~EFER_NXE, %eax
        wrmsr
        TRY 1f
10:     mov WIN_PAGE(0x86), %rax
1:      CAUGHT "with EFER.NXE=0 an entry with bit 63 set faults"
        CHECK_EXC $14, $9, $10b, "bit 63 with EFER.NXE=0"
        mov $MSR_EFER, %ecx
        rdmsr
        or $EFER_NXE, %eax
        wrmsr

/* --- Reserved bits: error code has RSVD (8) and P (1). */
        movabs $(1 << 51), %rbx
        lea SCRATCH(7), %rax
        or $(PTE_P | PTE_RW | PTE_US), %rax
        or %rbx, %rax
        mov %rax, gt_pt_win + 0x87 * 8(%rip)
        invlpg WIN_PAGE(0x87)
        TRY 1f
10:     mov WIN_PAGE(0x87) + 0x30, %rax
1:      CAUGHT "read through a PTE with bit 51 set faults"
        CHECK_EXC $14, $0x9, $10b, "reserved bit 51, read"
        CHECK_EQ MB_CR2, $(WIN_PAGE(0x87) + 0x30), "reserved bit 51, read: CR2"
        TRY 1f
10:     movq $0, WIN_PAGE(0x87) + 0x30
1:      CAUGHT "write through a PTE with bit 51 set faults"
        CHECK_EXC $14, $0xb, $10b, "reserved bit 51, write"
        TRY 1f
        call WIN_PAGE(0x87)
1:      CAUGHT "fetch through a PTE with bit 51 set faults"
        CHECK_EXC $14, $0x19, $WIN_PAGE(0x87), "reserved bit 51, fetch"
        RUN_USER user_read_rsvd
        CHECK_EXC $14, $0xd, $user_read_rsvd, "reserved bit 51, user read"
        /* Bit 13 of a 2 MiB PDE (bits 20:13 are reserved). */
        SET_PDE_ABS 2, 0x1200000 | PTE_P | PTE_RW | PTE_PS | (1 << 13)
        TRY 1f
10:     mov WIN + 2 * 0x200000 + 0x50, %rax
1:      CAUGHT "read through a 2 MiB PDE with bit 13 set faults"
        CHECK_EXC $14, $0x9, $10b, "reserved bit 13 of a 2 MiB PDE"
        SET_PDE_ABS 2, 0
        /* PS in a PML4E is reserved. */
        lea gt_pdpt(%rip), %rax
        or $(PTE_P | PTE_RW | PTE_PS), %rax
        mov %rax, gt_pml4 + 8(%rip)
        movabs $0x8000000000, %rbx
        invlpg (%rbx)
        TRY 1f
10:     mov 0x40(%rbx), %rax
1:      CAUGHT "read through a PML4E with PS set faults"
        CHECK_EXC $14, $0x9, $10b, "PS in a PML4E"
        CHECK_EQ MB_CR2, $0x8000000040, "PS in a PML4E: CR2"
        movq $0, gt_pml4 + 8(%rip)
        invlpg (%rbx)
        /* PS in a PDPTE (1 GiB pages are not advertised: CPUID.80000001H:EDX.Page1GB = 0). */
        movq $(PTE_P | PTE_RW | PTE_PS), gt_pdpt + 2 * 8(%rip)
        mov $0x80000000, %ebx
        invlpg (%rbx)
        TRY 1f
10:     mov 0x60(%rbx), %rax
1:      CAUGHT "read through a PDPTE with PS set faults"
        CHECK_EXC $14, $0x9, $10b, "PS in a PDPTE"
        movq $0, gt_pdpt + 2 * 8(%rip)
        invlpg (%rbx)

/* --- Accessed and dirty bits, on a fresh page table (all A and D clear). */
        lea SCRATCH(8), %rax
        or $(PTE_P | PTE_RW), %rax
        mov %rax, pt_c(%rip)
        lea SCRATCH(9), %rax
        or $(PTE_P | PTE_RW), %rax
        mov %rax, pt_c + 8(%rip)
        movb $0xc3, SCRATCH(9)
        SET_PDE 5, pt_c, PTE_P | PTE_RW
        invlpg WIN + 5 * 0x200000 + 0x1000
        CHECK_BITS pt_c(%rip), $(PTE_A | PTE_D), $0, "A and D start clear"
        mov WIN + 5 * 0x200000, %rax
        CHECK_BITS pt_c(%rip), $(PTE_A | PTE_D), $PTE_A, "a read sets A but not D in the PTE"
        CHECK_BITS (gt_pd_win + 5 * 8), $(PTE_A | PTE_D), $PTE_A, "a read sets A in the PDE"
        movq $1, WIN + 5 * 0x200000          /* the read's translation is cached */
        CHECK_BITS pt_c(%rip), $(PTE_A | PTE_D), $(PTE_A | PTE_D), "a write after a read sets D"
        CHECK_BITS (gt_pd_win + 5 * 8), $PTE_D, $0, "a write leaves bit 6 of a non-leaf PDE"
        andq $~PTE_D, pt_c(%rip)
        invlpg WIN + 5 * 0x200000
        mov WIN + 5 * 0x200000, %rax
        CHECK_BITS pt_c(%rip), $PTE_D, $0, "a read after software cleared D leaves D clear"
        movq $2, WIN + 5 * 0x200000
        CHECK_BITS pt_c(%rip), $PTE_D, $PTE_D, "the next write sets D again"
        CHECK_BITS pt_c+8(%rip), $(PTE_A | PTE_D), $0, "the second PTE is untouched"
        call WIN + 5 * 0x200000 + 0x1000
        CHECK_BITS pt_c+8(%rip), $(PTE_A | PTE_D), $PTE_A, "an instruction fetch sets A only"

/* --- A 2 MiB page. */
        movq $0x77, 0x812345
        movq $0x99, 0x9ffff8
        SET_PDE_ABS 1, 0x800000 | PTE_P | PTE_RW | PTE_PS
        mov WIN + 0x200000 + 0x12345, %rax
        CHECK_EQ %rax, $0x77, "2 MiB page: read maps to the page's physical address"
        CHECK_BITS (gt_pd_win + 8), $(PTE_A | PTE_D), $PTE_A, "2 MiB page: a read sets A only"
        movq $0x88, WIN + 0x200000 + 0x1234d
        CHECK_EQ 0x81234d, $0x88, "2 MiB page: write reaches the page's physical address"
        CHECK_BITS (gt_pd_win + 8), $(PTE_A | PTE_D), $(PTE_A | PTE_D), "2 MiB page: a write sets D"
        mov WIN + 0x200000 + 0x1ffff8, %rax
        CHECK_EQ %rax, $0x99, "2 MiB page: its last qword"
        mov WIN + 0x200000 + 0xffc, %rax     /* crossing a 4 KiB boundary inside the page */
        movq $0x1122334455667788, %rbx
        mov %rbx, WIN + 0x200000 + 0x7ffc
        CHECK_EQ 0x807ffc, %rbx, "2 MiB page: a write crossing a 4 KiB boundary inside it"

/* --- A write crossing into a not-present page writes nothing. */
        MAP_PAGE 0x88, SCRATCH(10), PTE_P | PTE_RW
        UNMAP_PAGE 0x89
        mov $-1, %rbx
        TRY 1f
10:     mov %rbx, WIN_PAGE(0x88) + 0xffc
1:      CAUGHT "a write crossing into a not-present page faults"
        CHECK_EXC $14, $2, $10b, "write crossing into a not-present page"
        CHECK_EQ MB_CR2, $WIN_PAGE(0x89), "write crossing into a not-present page: CR2"
        CHECK_EQ SCRATCH(10)+0xff8, $0, "write crossing into a not-present page: no bytes written"
        ret

/* --- User-mode parts (CPL 3); each ends with an exception or int $VEC_RETURN. */
user_read_supervisor:
        mov WIN_PAGE(0x82) + 0x10, %rax
        int $VEC_RETURN
user_write_supervisor:
        movq $1, WIN_PAGE(0x82) + 0x10
        int $VEC_RETURN
user_read_then_write_ro:
        mov WIN_PAGE(0x83), %rbx
user_write_ro:
        movq $1, WIN_PAGE(0x83) + 0x18
        int $VEC_RETURN
user_write_rw:
        movq $0x7777, WIN_PAGE(0x84) + 0x20
        int $VEC_RETURN
user_read_pde_supervisor:
        mov WIN + 3 * 0x200000 + 0x20, %rax
        int $VEC_RETURN
user_read_rsvd:
        mov WIN_PAGE(0x87), %rax
        int $VEC_RETURN

        .bss
        .balign 4096
pt_b:   .space 4096
pt_c:   .space 4096
