/* tests/guest/x86/mmio.S: MMIO at CPL 3 to the accelerator tests' devices (accel.h): a
 * register block of 1- to 8-byte accesses, a ROM whose writes are ignored, a RAM window the
 * guest moves and moves back (KVM: the memory slot follows), and an unassigned hole. */
#define TEST_BASE 0x1200
#include "testlib.inc"
#include "accel.h"

#define M_SCRATCH ACC_MMIO
#define M_NOT (ACC_MMIO + 8)
#define M_MOVE (ACC_MMIO + 0x10)
#define LOOPS 2000

        .text
test_main:
        USE_UD2_RETURN
        RUN_USER user_main, rflags=0x3202
        CHECK_EQ MB_VEC, $VEC_RETURN, "the user code returned through its gate"
        ret

user_main:
        mov %cs, %eax
        and $3, %eax
        CHECK_EQ %rax, $3, "running at CPL 3"
        /* 64-bit register */
        mov $0x1122334455667788, %rax
        mov %rax, M_SCRATCH
        mov M_SCRATCH, %rbx
        CHECK_EQ %rbx, $0x1122334455667788, "64-bit MMIO read returns the 64-bit write"
        mov M_NOT, %rbx
        CHECK_EQ %rbx, $0xeeddccbbaa998877, "64-bit MMIO read of the complement"
        /* Narrower writes and reads at offsets. */
        movl $0xdeadbeef, M_SCRATCH
        mov M_SCRATCH, %rbx
        CHECK_EQ %rbx, $0x11223344deadbeef, "32-bit MMIO write to the low half"
        movb $0x99, M_SCRATCH + 7
        mov M_SCRATCH, %rbx
        CHECK_EQ %rbx, $0x99223344deadbeef, "8-bit MMIO write to byte 7"
        movzwl M_SCRATCH + 2, %ebx
        CHECK_EQ %rbx, $0xdead, "16-bit MMIO read at offset 2"
        movzbl M_SCRATCH + 4, %ebx
        CHECK_EQ %rbx, $0x44, "8-bit MMIO read at offset 4"
        /* ROM: readable, writes ignored. */
        mov ACC_ROM + 8, %rbx
        CHECK_EQ %rbx, $ACC_ROM_WORD(1), "ROM word 1"
        mov ACC_ROM + ACC_ROM_SIZE - 8, %rbx
        CHECK_EQ %rbx, $ACC_ROM_WORD(ACC_ROM_SIZE / 8 - 1), "the ROM's last word"
        movq $0, ACC_ROM + 8
        mov ACC_ROM + 8, %rbx
        CHECK_EQ %rbx, $ACC_ROM_WORD(1), "a write to ROM is ignored"
        /* The RAM window: write at A, move it to B, find the data there and nothing at A. */
        mov ACC_WIN_A, %rbx
        CHECK_EQ %rbx, $ACC_WIN_MAGIC, "the RAM window at A"
        movq $0xcafe, ACC_WIN_A + 8
        movq $1, M_MOVE
        mov ACC_WIN_B + 8, %rbx
        CHECK_EQ %rbx, $0xcafe, "after the move the window's data is at B"
        mov ACC_WIN_B, %rbx
        CHECK_EQ %rbx, $ACC_WIN_MAGIC, "the window's magic at B"
        mov ACC_WIN_A, %rbx
        CHECK_EQ %rbx, $-1, "nothing at A any more (reads float high)"
        movq $0xf00d, ACC_WIN_B + 16
        movq $2, M_MOVE
        mov ACC_WIN_A + 16, %rbx
        CHECK_EQ %rbx, $0xf00d, "moved back: the write made at B is at A"
        mov ACC_WIN_B, %rbx
        CHECK_EQ %rbx, $-1, "nothing at B any more"
        mov M_MOVE, %rbx
        CHECK_EQ %rbx, $2, "the device moved the window twice"
        /* Unassigned memory. */
        mov ACC_UNASSIGNED, %rbx
        CHECK_EQ %rbx, $-1, "unassigned memory reads all-ones"
        movq $5, ACC_UNASSIGNED
        /* Round trips: write i, read ~i. */
        xor %ebx, %ebx
1:      mov %rbx, M_SCRATCH
        mov M_NOT, %rax
        not %rax
        cmp %rax, %rbx
        jne 2f
        inc %ebx
        cmp $LOOPS, %ebx
        jne 1b
2:      CHECK_EQ %rbx, $LOOPS, "every round trip read back the complement"
        USER_RETURN
