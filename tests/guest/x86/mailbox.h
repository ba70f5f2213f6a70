/* The x86 test guests' report protocol, shared by the guests (testlib.inc, through the C
 * preprocessor) and the host harness (tests/accel/tcg). Plain #defines only: this file is
 * included by both GNU assembler sources and C++.
 *
 * A guest ends by writing a status to the isa-debug-exit port (QEMU's
 * -device isa-debug-exit,iobase=0xf4,iosize=0x04 exits with status (value << 1) | 1):
 *   GT_PASS                 every check passed
 *   GT_TEST_BASE + n        check number n of the test failed (n counts from 1 in source order)
 *   GT_UNEXPECTED(vector)   an exception nobody expected
 * No failure status has the low 7 bits of GT_PASS, so even QEMU's 8-bit process exit status
 * tells a pass from a failure. Before reporting, the guest fills the mailbox below (guest
 * physical GT_MAILBOX) with the details: the failed check's name, the values it compared, and
 * the last exception taken.
 */
#ifndef MACHINA_TESTS_GUEST_X86_MAILBOX_H
#define MACHINA_TESTS_GUEST_X86_MAILBOX_H

#define GT_DEBUG_EXIT_PORT 0xf4
#define GT_DEBUGCON_PORT 0xe9 /* failures are also printed here (QEMU's -debugcon) */
#define GT_PASS 0x10
#define GT_UNEXPECTED_BASE 0x1007f /* | vector << 7 */
#define GT_UNEXPECTED(v) (GT_UNEXPECTED_BASE | ((v) << 7))

/* Guest physical address of the mailbox (identity mapped in every test's page tables). */
#define GT_MAILBOX 0x1000
#define GT_MAGIC_VALUE 0x7473657436387867 /* "gx86test" */
/* Field offsets (each a 64-bit little-endian value). */
#define GT_MB_MAGIC 0x00    /* GT_MAGIC_VALUE once the guest started */
#define GT_MB_CODE 0x08     /* the status reported */
#define GT_MB_ACTUAL 0x10   /* failed check: the value observed */
#define GT_MB_EXPECTED 0x18 /* failed check: the value wanted */
#define GT_MB_DESC 0x20     /* failed check: address of its NUL-terminated name */
#define GT_MB_VEC 0x28      /* last exception: vector */
#define GT_MB_ERR 0x30      /* error code (0 if the vector has none) */
#define GT_MB_CR2 0x38      /* CR2 in the handler */
#define GT_MB_RIP 0x40      /* the pushed frame: RIP, CS, RFLAGS, RSP, SS */
#define GT_MB_CS 0x48
#define GT_MB_RFLAGS 0x50
#define GT_MB_RSP 0x58
#define GT_MB_SS 0x60
#define GT_MB_FRAME 0x68 /* address of the pushed RIP (the handler's stack) */
#define GT_MB_COUNT 0x70 /* exceptions taken so far */
#define GT_MB_REGS 0x80  /* the 16 GPRs at the exception, hardware order (RAX, RCX, ...) */
#define GT_MB_SIZE 0x100

#endif
