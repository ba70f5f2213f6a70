/* tests/guest/x86/irq.S: external interrupts through the local APIC model into user mode. The
 * guest maps the local APIC's page (0xfee00000) at WIN, enables it, and installs a handler for
 * vector 0x40 that counts and sends EOI. At CPL 3 with interrupts on it then asks the test
 * device (ACC_MMIO + 0x20, accel.h) ROUNDS times for a fixed interrupt of that vector and waits
 * for each to arrive. */
#define TEST_BASE 0x1500
#include "testlib.inc"
#include "accel.h"

#define LAPIC_PHYS 0xfee00000
#define LAPIC WIN_PAGE(0)
#define VEC 0x40
#define ROUNDS 10

        .text
test_main:
        USE_UD2_RETURN
        mov $(LAPIC_PHYS | PTE_P | PTE_RW | 0x18), %eax  /* PCD | PWT */
        mov %rax, gt_pt_win(%rip)
        invlpg LAPIC
        movl $0x1ff, LAPIC + 0xf0      /* spurious vector register: enabled, vector 0xff */
        movl $0, LAPIC + 0x80          /* task priority 0 */
        lea irq_hook(%rip), %rax
        mov %rax, gt_exc_hook(%rip)
        RUN_USER user_main, rflags=0x202
        CHECK_EQ MB_VEC, $VEC_RETURN, "the user code returned through its gate"
        CHECK_EQ irq_count(%rip), $ROUNDS, "every interrupt was taken once"
        CHECK_EQ irq_user(%rip), $ROUNDS, "every interrupt interrupted user mode"
        ret

/* %rdi = the saved area; %eax = 0 resumes with IRETQ. */
irq_hook:
        cmpq $VEC, SV_VEC(%rdi)
        jne 1f
        incq irq_count(%rip)
        testq $3, SV_CS(%rdi)
        jz 2f
        incq irq_user(%rip)
2:      movl $0, LAPIC + 0xb0          /* EOI */
        xor %eax, %eax
        ret
1:      mov $1, %eax
        ret

user_main:
        xor %ebx, %ebx
1:      inc %rbx
        movq $VEC, ACC_MMIO + 0x20
        mov $200000000, %ecx
2:      cmp irq_count(%rip), %rbx
        je 3f
        dec %ecx
        jnz 2b
3:      CHECK_EQ irq_count(%rip), %rbx, "the interrupt arrived while user code waited"
        cmp $ROUNDS, %rbx
        jne 1b
        USER_RETURN

        .data
        .balign 8
irq_count:
        .quad 0
irq_user:
        .quad 0
