/* tests/guest/x86/smp.S: starting an application processor the way a PC's firmware and Linux
 * do. Run with two CPUs (X86AccelRunner::set_cpus(2)): CPU 1 waits for INIT and a start-up IPI.
 *
 * The boot CPU (APIC ID 0) copies a real-mode trampoline below 1 MiB (TRAMP) and, through its
 * local APIC's ICR, sends CPU 1 INIT (assert, then de-assert) and two start-up IPIs with vector
 * TRAMP >> 12 (the MP specification's sequence, as Linux sends it). CPU 1 starts in real mode
 * at TRAMP: it reads its initial APIC ID with CPUID, stores it, counts its start with a locked
 * increment and halts with interrupts off. The boot CPU checks the APIC ID and that the second
 * start-up IPI did not start the running CPU again; then it sends a start-up IPI alone (ignored:
 * no INIT came first), and finally INIT + start-up IPI, which must start the halted CPU again. */
#define TEST_BASE 0x1800
#include "testlib.inc"

#define LAPIC_PHYS 0xfee00000
#define LAPIC WIN_PAGE(0)
#define ICR_LO 0x300
#define ICR_HI 0x310
#define ICR_BUSY 0x1000
#define TRAMP 0x70000
#define AP_ID (TRAMP + (ap_id - ap_tramp))
#define AP_STARTS (TRAMP + (ap_starts - ap_tramp))
#define INIT_ASSERT 0x4500   /* level-triggered assert, INIT */
#define INIT_DEASSERT 0x8500 /* level-triggered de-assert, INIT */
#define STARTUP (0x600 | (TRAMP >> 12))
#define SPIN_MAX 1000000
#define SETTLE 20000

        .text
test_main:
        mov $(LAPIC_PHYS | PTE_P | PTE_RW | 0x18), %eax  /* PCD | PWT */
        mov %rax, gt_pt_win(%rip)
        invlpg LAPIC
        movl $0x1ff, LAPIC + 0xf0      /* spurious vector register: enabled */
        movl LAPIC + 0x20, %eax
        shr $24, %eax
        CHECK_EQ %rax, $0, "the boot CPU's local APIC ID is 0"

        lea ap_tramp(%rip), %rsi
        mov $TRAMP, %edi
        mov $(ap_tramp_end - ap_tramp), %ecx
        cld
        rep movsb

        /* INIT, INIT de-assert, start-up, start-up. */
        call init_and_start
        mov $1, %ebx
        call wait_starts
        CHECK_EQ AP_STARTS, $1, "the start-up IPI started CPU 1"
        CHECK_EQ AP_ID, $1, "CPU 1 read its initial APIC ID (1) with CPUID in real mode"
        mov $STARTUP, %eax
        call send_ipi
        call settle
        CHECK_EQ AP_STARTS, $1, "a second start-up IPI does not restart a running CPU"

        /* A start-up IPI alone: CPU 1 is halted, not waiting for one. */
        movl $-1, AP_ID
        mov $STARTUP, %eax
        call send_ipi
        call settle
        CHECK_EQ AP_STARTS, $1, "a start-up IPI without INIT is ignored"
        CHECK_EQ AP_ID, $0xffffffff, "the halted CPU did not run the trampoline"

        /* INIT + start-up: the halted CPU starts again. */
        call init_and_start
        mov $2, %ebx
        call wait_starts
        CHECK_EQ AP_STARTS, $2, "INIT and a start-up IPI started the halted CPU again"
        CHECK_EQ AP_ID, $1, "the restarted CPU ran the trampoline"
        ret

/* INIT (assert, de-assert) and a start-up IPI to APIC ID 1. */
init_and_start:
        mov $INIT_ASSERT, %eax
        call send_ipi
        mov $INIT_DEASSERT, %eax
        call send_ipi
        mov $STARTUP, %eax
        call send_ipi
        ret

/* Sends the IPI with ICR low %eax to APIC ID 1 and waits until the APIC has sent it. */
send_ipi:
        movl $(1 << 24), LAPIC + ICR_HI
        movl %eax, LAPIC + ICR_LO
        mov $SPIN_MAX, %ecx
1:      testl $ICR_BUSY, LAPIC + ICR_LO
        jz 2f
        pause
        dec %ecx
        jnz 1b
2:      ret

/* Waits until CPU 1 has started %rbx times (or SPIN_MAX rounds). */
wait_starts:
        mov $SPIN_MAX, %ecx
1:      cmp AP_STARTS, %rbx
        jbe 2f
        pause
        dec %ecx
        jnz 1b
2:      ret

/* Gives CPU 1 time to run if something (wrongly) started it. */
settle:
        mov $SETTLE, %ecx
1:      pause
        dec %ecx
        jnz 1b
        ret

/* The trampoline, copied to TRAMP: CPU 1 enters it in real mode, CS = TRAMP >> 4, IP = 0. */
        .code16
ap_tramp:
        cli
        mov %cs, %ax
        mov %ax, %ds
        mov $1, %eax
        cpuid
        shr $24, %ebx
        mov %ebx, ap_id - ap_tramp
        lock incl ap_starts - ap_tramp
1:      hlt
        jmp 1b
        .balign 8
ap_id:
        .quad 0xffffffff
ap_starts:
        .quad 0
ap_tramp_end:
        .code64
