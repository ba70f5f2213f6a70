/* tests/guest/x86/kvmclock.S: KVM's paravirtual interface as a Linux guest meets it, and its
 * reset. Boots on the q35 machine (-kernel) and resets it once itself.
 *
 * First boot: CPUID 0x40000000 must say "KVMKVMKVM" under KVM (the software CPU, like QEMU's,
 * offers no KVM leaves: the guest then passes at once). Leaf 0x40000001 offers kvmclock
 * (CLOCKSOURCE2). The guest registers a kvmclock page (MSR_KVM_SYSTEM_TIME_NEW) and checks KVM
 * fills it in (an even, non-zero version and a multiplier), then resets the machine through the
 * reset control register (0xcf9). Second boot: the MSR must read 0 again — a machine reset
 * clears the paravirtual MSRs, else KVM would go on writing the old page. The boot count lives
 * at BOOT, outside the ELF, which a reset does not reload. */
#define TEST_BASE 0x1a00
#include "testlib.inc"

#define BOOT 0x80000          /* magic, then the boot count */
#define PVCLOCK 0x81000
#define BOOT_MAGIC 0x6b636f6c636d766b /* "kvmclock" */
#define KVM_SIG_EBX 0x4b4d564b  /* "KVMK" */
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define SPIN_MAX 1000000

        .text
test_main:
        mov $BOOT_MAGIC, %rax
        cmp %rax, BOOT
        je second_boot
        mov %rax, BOOT
        movq $1, BOOT + 8

        mov $0x40000000, %eax
        xor %ecx, %ecx
        cpuid
        cmp $KVM_SIG_EBX, %ebx
        jne 9f                         /* no KVM leaves: the software CPU */
        mov %eax, %r8d                 /* the checks clobber %rax and %rdx */
        mov %edx, %r9d
        CHECK_EQ %rcx, $0x564b4d56, "CPUID 0x40000000 ECX: VMKV"
        CHECK_EQ %r9, $0x4d, "CPUID 0x40000000 EDX: M"
        CHECK_GT %r8, $0x40000000, "CPUID 0x40000000 EAX: the features leaf exists"
        mov $0x40000001, %eax
        xor %ecx, %ecx
        cpuid
        CHECK_BITS %rax, $0x8, $0x8, "kvmclock (CLOCKSOURCE2) is offered"

        mov $MSR_KVM_SYSTEM_TIME_NEW, %ecx
        rdmsr
        shl $32, %rdx
        or %rdx, %rax
        CHECK_EQ %rax, $0, "kvmclock is off at power-on"
        movl $0, PVCLOCK
        mov $(PVCLOCK | 1), %eax
        xor %edx, %edx
        mov $MSR_KVM_SYSTEM_TIME_NEW, %ecx
        wrmsr
        mov $SPIN_MAX, %ecx
1:      cmpl $0, PVCLOCK
        jne 2f
        pause
        dec %ecx
        jnz 1b
2:      movl PVCLOCK, %eax
        CHECK_NE %rax, $0, "KVM filled in the kvmclock page"
        CHECK_BITS %rax, $1, $0, "the kvmclock version is even (no update in progress)"
        movl PVCLOCK + 24, %eax
        CHECK_NE %rax, $0, "the kvmclock page has a TSC multiplier"

        mov $0x06, %al                 /* reset control: full reset */
        mov $0xcf9, %edx
        outb %al, %dx
3:      pause
        jmp 3b

second_boot:
        CHECK_EQ BOOT+8, $1, "the second boot comes after exactly one reset"
        movq $2, BOOT + 8
        mov $MSR_KVM_SYSTEM_TIME_NEW, %ecx
        rdmsr
        shl $32, %rdx
        or %rdx, %rax
        CHECK_EQ %rax, $0, "the machine reset turned kvmclock off"
9:      ret
