/* tests/guest/x86/virtio.S: a virtio queue driven from user mode. The guest is the driver of
 * the virtio-rng-pci the runner sets up (accel.h): at CPL 0 it brings the device up through the
 * modern common configuration (features VERSION_1, queue 0 of QSIZE entries with MSI-X vector 0
 * aimed at the local APIC's vector VEC) and fills the descriptor table with device-writable
 * buffers. At CPL 3 it then, ROUNDS times, puts a buffer in the available ring, kicks queue 0
 * through its notify address (a 16-bit write of the queue index) and waits for the device to
 * use the buffer and for the interrupt; the CPL 0 handler counts it and sends EOI. Last, one
 * more buffer is kicked from CPL 0 through the legacy QUEUE_NOTIFY port. Under KVM the runner
 * checks that the kicks were caught by ioeventfds (no exit to machina's vCPU thread).
 * A command line "nN" (bench/kvm_virtio_bench.cc) makes it N rounds (N < 65536) instead; the
 * fewest TSC ticks one CPL 3 notify write took is left at KICK_TSC (the minimum: an interrupt
 * may land inside the measured window). */
#define TEST_BASE 0x1600
#include "testlib.inc"
#include "accel.h"

#define LAPIC_PHYS 0xfee00000
#define LAPIC WIN_PAGE(0)
#define VEC 0x41
#define ROUNDS 8
#define CMDLINE 0x20000
#define QSIZE 8
#define BUF_LEN 16
#define VQ 0x600000
#define DESC VQ
#define AVAIL (VQ + 0x1000)
#define USED (VQ + 0x2000)
#define BUF (VQ + 0x3000)
#define KICK_TSC (VQ + 0x4000) /* the fewest TSC ticks a CPL 3 kick took (for the benchmark) */
#define COMMON ACC_VIRTIO_BAR
/* Common configuration (virtio 1.x, 4.1.4.3). */
#define C_GFSEL 0x08
#define C_GF 0x0c
#define C_MSIX 0x10
#define C_STATUS 0x14
#define C_QSEL 0x16
#define C_QSIZE 0x18
#define C_QMSIX 0x1a
#define C_QENABLE 0x1c
#define C_QNOFF 0x1e
#define C_QDESC 0x20
#define C_QAVAIL 0x28
#define C_QUSED 0x30
#define LEGACY_QUEUE_NOTIFY (ACC_VIRTIO_LEGACY + 16)

        .text
test_main:
        USE_UD2_RETURN
        cmpb $'n', CMDLINE
        jne 2f
        mov $(CMDLINE + 1), %esi
        xor %ecx, %ecx
1:      movzbl (%rsi), %eax
        sub $'0', %eax
        cmp $9, %eax
        ja 3f
        imul $10, %rcx, %rcx
        add %rax, %rcx
        inc %rsi
        jmp 1b
3:      mov %rcx, rounds(%rip)
2:
        mov $(LAPIC_PHYS | PTE_P | PTE_RW | 0x18), %eax  /* PCD | PWT */
        mov %rax, gt_pt_win(%rip)
        invlpg LAPIC
        movl $0x1ff, LAPIC + 0xf0      /* spurious vector register: enabled, vector 0xff */
        movl $0, LAPIC + 0x80          /* task priority 0 */
        lea irq_hook(%rip), %rax
        mov %rax, gt_exc_hook(%rip)

        /* MSI-X table entry 0: fixed interrupt VEC to APIC ID 0, unmasked. */
        movl $LAPIC_PHYS, ACC_VIRTIO_MSIX + 0
        movl $0, ACC_VIRTIO_MSIX + 4
        movl $VEC, ACC_VIRTIO_MSIX + 8
        movl $0, ACC_VIRTIO_MSIX + 12

        /* Reset, ACKNOWLEDGE, DRIVER, features (VERSION_1 only), FEATURES_OK. */
        movb $0, COMMON + C_STATUS
        movb $1, COMMON + C_STATUS
        movb $3, COMMON + C_STATUS
        movl $0, COMMON + C_GFSEL
        movl $0, COMMON + C_GF
        movl $1, COMMON + C_GFSEL
        movl $1, COMMON + C_GF
        movb $0xb, COMMON + C_STATUS
        movzbl COMMON + C_STATUS, %ebx
        CHECK_EQ %rbx, $0xb, "the device accepted FEATURES_OK"

        /* Queue 0. */
        movw $0xffff, COMMON + C_MSIX
        movw $0, COMMON + C_QSEL
        movw $QSIZE, COMMON + C_QSIZE
        movw $0, COMMON + C_QMSIX
        movzwl COMMON + C_QMSIX, %ebx
        CHECK_EQ %rbx, $0, "queue 0 took MSI-X vector 0"
        movzwl COMMON + C_QNOFF, %ebx
        CHECK_EQ %rbx, $0, "queue 0 is notified at offset 0"
        movl $DESC, COMMON + C_QDESC
        movl $0, COMMON + C_QDESC + 4
        movl $AVAIL, COMMON + C_QAVAIL
        movl $0, COMMON + C_QAVAIL + 4
        movl $USED, COMMON + C_QUSED
        movl $0, COMMON + C_QUSED + 4
        movw $1, COMMON + C_QENABLE

        /* Descriptor i: BUF + i * BUF_LEN, BUF_LEN bytes, device-writable. */
        xor %ecx, %ecx
1:      mov %ecx, %eax
        shl $4, %eax                   /* * 16: descriptor size and BUF_LEN */
        lea BUF(%rax), %rdx
        mov %rdx, DESC(%rax)
        movl $BUF_LEN, DESC + 8(%rax)
        movw $2, DESC + 12(%rax)       /* VIRTQ_DESC_F_WRITE */
        movw $0, DESC + 14(%rax)
        inc %ecx
        cmp $QSIZE, %ecx
        jne 1b

        movb $0xf, COMMON + C_STATUS   /* DRIVER_OK */
        movzbl COMMON + C_STATUS, %ebx
        CHECK_EQ %rbx, $0xf, "the device is running"

        movq $-1, KICK_TSC
        RUN_USER user_main, rflags=0x202
        CHECK_EQ MB_VEC, $VEC_RETURN, "the user code returned through its gate"
        mov rounds(%rip), %rbx
        CHECK_EQ irq_count(%rip), %rbx, "every used buffer was signalled once"
        mov rounds(%rip), %rbx
        CHECK_EQ irq_user(%rip), %rbx, "every interrupt interrupted user mode"
        movl USED + 4 + 4, %ebx
        CHECK_EQ %rbx, $BUF_LEN, "the device filled the whole buffer"

        /* One more buffer, kicked through the legacy interface's QUEUE_NOTIFY from CPL 0. */
        call add_buffer
        xor %eax, %eax
        mov $LEGACY_QUEUE_NOTIFY, %edx
        sti
        out %ax, %dx
        mov rounds(%rip), %rsi
        inc %rsi
        mov $200000000, %ecx
2:      cmp irq_count(%rip), %rsi
        je 3f
        pause
        dec %ecx
        jnz 2b
3:      cli
        movzwl USED + 2, %ebx
        mov rounds(%rip), %rsi
        inc %rsi
        movzwl %si, %esi
        CHECK_EQ %rbx, %rsi, "the legacy kick was seen"
        mov rounds(%rip), %rsi
        inc %rsi
        CHECK_EQ irq_count(%rip), %rsi, "and signalled"
        ret

/* Puts descriptor (avail idx % QSIZE) in the available ring and publishes it. Clobbers %eax,
 * %ecx, %edx. Runs at either privilege level. */
add_buffer:
        movzwl AVAIL + 2, %ecx
        mov %ecx, %edx
        and $(QSIZE - 1), %edx
        mov %dx, AVAIL + 4(,%rdx,2)
        inc %ecx
        mov %cx, AVAIL + 2
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
1:      call add_buffer
        inc %rbx
        rdtsc                          /* the kick's own cost, for the benchmark */
        shl $32, %rdx
        or %rdx, %rax
        mov %rax, %r8
        movw $0, ACC_VIRTIO_NOTIFY     /* kick queue 0 */
        rdtsc
        shl $32, %rdx
        or %rdx, %rax
        sub %r8, %rax
        cmp KICK_TSC, %rax
        jae 5f
        mov %rax, KICK_TSC
5:
        mov $200000000, %ecx
2:      movzwl USED + 2, %esi
        movzwl %bx, %edi
        cmp %rdi, %rsi
        jne 3f
        cmp irq_count(%rip), %rbx
        je 4f
3:      dec %ecx
        jnz 2b
4:      movzwl USED + 2, %esi
        movzwl %bx, %edi
        CHECK_EQ %rsi, %rdi, "the device used the buffer"
        CHECK_EQ irq_count(%rip), %rbx, "the used buffer was signalled"
        cmp rounds(%rip), %rbx
        jne 1b
        USER_RETURN

        .data
        .balign 8
rounds:
        .quad ROUNDS
irq_count:
        .quad 0
irq_user:
        .quad 0
