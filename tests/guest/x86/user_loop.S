/* tests/guest/x86/user_loop.S: a guest that never ends, for the process tests of stop/cont/
 * system_reset/quit. At start (CPL 0, after the runtime's set-up) it writes 'S' to the debug
 * console (port 0xe9); then, forever, it runs a burst of 2^20 iterations of a busy loop at
 * CPL 3 (interrupts off), comes back to CPL 0 (USER_RETURN) and writes '.' there. Port I/O
 * stays at CPL 0 because a PVM host's KVM does not honour IOPL 3 at CPL 3. */
#define TEST_BASE 0x1300
#include "testlib.inc"

        .text
test_main:
        mov $'S', %eax
        out %al, $GT_DEBUGCON_PORT
        USE_UD2_RETURN
1:      RUN_USER user_burst, rflags=0x0002
        mov $'.', %eax
        out %al, $GT_DEBUGCON_PORT
        jmp 1b

user_burst:
        mov $(1 << 20), %edx
2:      dec %rdx
        jnz 2b
        USER_RETURN
