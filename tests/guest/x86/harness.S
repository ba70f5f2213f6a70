/* tests/guest/x86/harness.S: the harness's own test. The command line (at 0x20000) selects:
 *   pass            report GT_PASS
 *   fail-check      fail check 1 (actual 1, expected 2) at CPL 0
 *   fail-user       fail check 2 (actual 3, expected 4) at CPL 3
 *   unexpected-ud   execute UD2 with no recovery point armed
 *   triple          execute UD2 with an empty IDT: #UD, #GP, #DF, triple fault
 */
#define TEST_BASE 0xf00
#include "testlib.inc"

#define CMDLINE 0x20000

        .text
test_main:
        USE_UD2_RETURN
        mov CMDLINE, %eax              /* the first four characters */
        cmp $0x73736170, %eax          /* "pass" */
        je .Lpass
        cmp $0x6c696166, %eax          /* "fail" */
        je .Lfail
        cmp $0x78656e75, %eax          /* "unex" */
        je .Lunexpected
        cmp $0x70697274, %eax          /* "trip" */
        je .Ltriple
        REPORT_EXIT 0xfff
.Lpass:
        ret
.Lfail:
        cmpb $0x75, CMDLINE + 5        /* 'u' of fail-user */
        je .Lfail_user
        mov $1, %ebx
        CHECK_EQ %rbx, $2, "deliberate failure"
        ret
.Lfail_user:
        RUN_USER .Luser
        ret
.Lunexpected:
        ud2
        ret
.Ltriple:
        lidt empty_idt(%rip)
        ud2
        ret

.Luser:
        mov $3, %ebx
        CHECK_EQ %rbx, $4, "deliberate failure at CPL 3"
        USER_RETURN

        .data
empty_idt:
        .word 0
        .quad 0
