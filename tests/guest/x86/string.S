/* tests/guest/x86/string.S: string instructions with REP/REPE/REPNE (SDM vol. 2, MOVS, STOS,
 * CMPS, SCAS, REP): both directions, overlapping copies, where REPE/REPNE stop, and a #PF in the
 * middle of a REP string instruction: RCX/RSI/RDI describe the elements already done, those are
 * stored, and the instruction completes once the handler maps the page. */
#define TEST_BASE 0x600
#include "testlib.inc"

#define FLAG_CF 0x1
#define FLAG_ZF 0x40
#define SRC src_buf
#define DST (dst_buf + 64)

/* %rax = index of the first byte where [a, a+n) and [b, b+n) differ, or -1. */
.macro BYTES_DIFF a, b, n
        lea \a, %rsi
        lea \b, %rdi
        mov $(\n), %ecx
        call bytes_diff
.endm

        .text
test_main:
        lea SRC, %rdi
        mov $4096, %ecx
        mov $3, %edx
        call fill_pattern

/* --- REP MOVSB/MOVSQ/STOSB, DF = 0. */
        lea dst_buf(%rip), %rdi
        mov $8192, %ecx
        mov $0xee, %al
        call fill_bytes
        lea SRC, %rsi
        lea DST, %rdi
        mov $100, %ecx
        rep movsb
        mov %rsi, %r12
        mov %rdi, %r13
        mov %rcx, %r14
        CHECK_EQ %r12, $(SRC + 100), "REP MOVSB DF=0: RSI"
        CHECK_EQ %r13, $(DST + 100), "REP MOVSB DF=0: RDI"
        CHECK_EQ %r14, $0, "REP MOVSB DF=0: RCX"
        BYTES_DIFF SRC, DST, 100
        CHECK_EQ %rax, $-1, "REP MOVSB DF=0: the bytes copied"
        CHECK_EQ DST+100, $0xeeeeeeeeeeeeeeee, "REP MOVSB DF=0: nothing beyond"

        lea SRC + 200, %rsi
        lea DST + 200, %rdi
        mov $10, %ecx
        rep movsq
        mov %rsi, %r12
        mov %rdi, %r13
        mov %rcx, %r14
        CHECK_EQ %r12, $(SRC + 280), "REP MOVSQ DF=0: RSI"
        CHECK_EQ %r13, $(DST + 280), "REP MOVSQ DF=0: RDI"
        CHECK_EQ %r14, $0, "REP MOVSQ DF=0: RCX"
        BYTES_DIFF SRC+200, DST+200, 80
        CHECK_EQ %rax, $-1, "REP MOVSQ DF=0: the qwords copied"
        CHECK_EQ DST+280, $0xeeeeeeeeeeeeeeee, "REP MOVSQ DF=0: nothing beyond"

        lea DST + 400, %rdi
        mov $77, %ecx
        mov $0x5a, %eax
        rep stosb
        mov %rdi, %r13
        mov %rcx, %r14
        CHECK_EQ %r13, $(DST + 477), "REP STOSB DF=0: RDI"
        CHECK_EQ %r14, $0, "REP STOSB DF=0: RCX"
        BYTES_DIFF DST+400, fives, 77
        CHECK_EQ %rax, $-1, "REP STOSB DF=0: the bytes stored"
        CHECK_EQ DST+477, $0xeeeeeeeeeeeeeeee, "REP STOSB DF=0: nothing beyond"
        CHECK_EQ DST+392, $0xeeeeeeeeeeeeeeee, "REP STOSB DF=0: nothing before"

/* --- The same with DF = 1: from the last element down. */
        lea SRC + 1099, %rsi
        lea DST + 1099, %rdi
        mov $100, %ecx
        std
        rep movsb
        cld
        mov %rsi, %r12
        mov %rdi, %r13
        mov %rcx, %r14
        CHECK_EQ %r12, $(SRC + 999), "REP MOVSB DF=1: RSI"
        CHECK_EQ %r13, $(DST + 999), "REP MOVSB DF=1: RDI"
        CHECK_EQ %r14, $0, "REP MOVSB DF=1: RCX"
        BYTES_DIFF SRC+1000, DST+1000, 100
        CHECK_EQ %rax, $-1, "REP MOVSB DF=1: the bytes copied"
        CHECK_EQ DST+992, $0xeeeeeeeeeeeeeeee, "REP MOVSB DF=1: nothing below"
        CHECK_EQ DST+1100, $0xeeeeeeeeeeeeeeee, "REP MOVSB DF=1: nothing above"

        lea SRC + 1272, %rsi
        lea DST + 1272, %rdi
        mov $10, %ecx
        std
        rep movsq
        cld
        mov %rsi, %r12
        mov %rdi, %r13
        mov %rcx, %r14
        CHECK_EQ %r12, $(SRC + 1192), "REP MOVSQ DF=1: RSI"
        CHECK_EQ %r13, $(DST + 1192), "REP MOVSQ DF=1: RDI"
        CHECK_EQ %r14, $0, "REP MOVSQ DF=1: RCX"
        BYTES_DIFF SRC+1200, DST+1200, 80
        CHECK_EQ %rax, $-1, "REP MOVSQ DF=1: the qwords copied"
        CHECK_EQ DST+1192, $0xeeeeeeeeeeeeeeee, "REP MOVSQ DF=1: nothing below"

        lea DST + 1449, %rdi
        mov $50, %ecx
        mov $0x5a, %eax
        std
        rep stosb
        cld
        mov %rdi, %r13
        mov %rcx, %r14
        CHECK_EQ %r13, $(DST + 1399), "REP STOSB DF=1: RDI"
        CHECK_EQ %r14, $0, "REP STOSB DF=1: RCX"
        BYTES_DIFF DST+1400, fives, 50
        CHECK_EQ %rax, $-1, "REP STOSB DF=1: the bytes stored"
        CHECK_EQ DST+1392, $0xeeeeeeeeeeeeeeee, "REP STOSB DF=1: nothing below"

/* --- Overlapping copies: each byte is copied after the ones before it. */
        lea big_buf(%rip), %rdi
        mov $4096, %ecx
        mov $0x11, %edx
        call fill_pattern
        movb $0x41, big_buf(%rip)
        lea big_buf(%rip), %rsi
        lea big_buf + 1(%rip), %rdi
        mov $300, %ecx
        rep movsb
        lea big_buf(%rip), %rsi
        mov $301, %ecx
        mov $0x41, %eax
        call count_not_byte
        CHECK_EQ %rax, $0, "REP MOVSB with RDI = RSI + 1 replicates the first byte"
        CHECK_NE big_buf+301(%rip), $0x41, "REP MOVSB with RDI = RSI + 1: stops after RCX bytes"

        lea big_buf(%rip), %rdi
        mov $4096, %ecx
        mov $0x23, %edx
        call fill_pattern
        lea big_buf(%rip), %rsi
        lea big_buf + 600(%rip), %rdi
        mov $2000, %ecx
        rep movsb
        lea big_buf(%rip), %rsi
        mov $2600, %ecx
        mov $600, %edx
        call check_period
        CHECK_EQ %rax, $-1, "REP MOVSB with RDI = RSI + 600 repeats the first 600 bytes"

        lea big_buf(%rip), %rdi
        mov $4096, %ecx
        mov $0x35, %edx
        call fill_pattern
        movb $0x42, big_buf + 300(%rip)
        lea big_buf + 300(%rip), %rsi
        lea big_buf + 299(%rip), %rdi
        mov $300, %ecx
        std
        rep movsb
        cld
        lea big_buf(%rip), %rsi
        mov $301, %ecx
        mov $0x42, %eax
        call count_not_byte
        CHECK_EQ %rax, $0, "REP MOVSB DF=1 with RDI = RSI - 1 replicates the last byte"

/* --- REPE CMPSB stops at the first difference; REPNE/REPE SCASB. */
        lea SRC, %rsi
        lea cmp_buf(%rip), %rdi
        mov $100, %ecx
        rep movsb
        movzbl SRC + 37, %eax
        mov %eax, %ebx
        xor $0xff, %ebx
        mov %bl, cmp_buf + 37(%rip)
        xor %r15d, %r15d
        cmp %bl, %al                         /* the flags of the mismatching compare */
        pushfq
        pop %r15
        and $(FLAG_CF | FLAG_ZF), %r15
        lea SRC, %rsi
        lea cmp_buf(%rip), %rdi
        mov $100, %ecx
        repe cmpsb
        pushfq
        pop %rbx
        mov %rsi, %r12
        mov %rdi, %r13
        mov %rcx, %r14
        CHECK_EQ %r12, $(SRC + 38), "REPE CMPSB: RSI past the first difference"
        CHECK_EQ %r13, $(cmp_buf + 38), "REPE CMPSB: RDI past the first difference"
        CHECK_EQ %r14, $62, "REPE CMPSB: RCX counts the compares not done"
        CHECK_BITS %rbx, $(FLAG_CF | FLAG_ZF), %r15, "REPE CMPSB: flags of the mismatching compare"
        lea SRC, %rsi
        lea cmp_buf(%rip), %rdi
        mov $37, %ecx
        repe cmpsb
        pushfq
        pop %rbx
        mov %rcx, %r14
        CHECK_EQ %r14, $0, "REPE CMPSB over equal bytes: RCX"
        CHECK_BITS %rbx, $FLAG_ZF, $FLAG_ZF, "REPE CMPSB over equal bytes: ZF"
        xor %ecx, %ecx
        lea SRC, %rsi
        lea cmp_buf(%rip), %rdi
        or $1, %eax                          /* ZF = 0 */
        repe cmpsb
        pushfq
        pop %rbx
        mov %rsi, %r12
        CHECK_EQ %r12, $SRC, "REPE CMPSB with RCX = 0: does nothing"
        CHECK_BITS %rbx, $FLAG_ZF, $0, "REPE CMPSB with RCX = 0: flags unchanged"

        lea big_buf(%rip), %rdi
        mov $200, %ecx
        mov $0x61, %eax
        call fill_bytes
        movb $0x78, big_buf + 20(%rip)
        movb $0x78, big_buf + 30(%rip)
        lea big_buf(%rip), %rdi
        mov $100, %ecx
        mov $0x78, %eax
        repne scasb
        pushfq
        pop %rbx
        mov %rdi, %r13
        mov %rcx, %r14
        CHECK_EQ %r13, $(big_buf + 21), "REPNE SCASB: RDI past the first match"
        CHECK_EQ %r14, $79, "REPNE SCASB: RCX"
        CHECK_BITS %rbx, $FLAG_ZF, $FLAG_ZF, "REPNE SCASB: ZF set by the match"
        lea big_buf(%rip), %rdi
        mov $20, %ecx
        mov $0x78, %eax
        repne scasb
        pushfq
        pop %rbx
        mov %rdi, %r13
        mov %rcx, %r14
        CHECK_EQ %r13, $(big_buf + 20), "REPNE SCASB without a match: RDI"
        CHECK_EQ %r14, $0, "REPNE SCASB without a match: RCX"
        CHECK_BITS %rbx, $FLAG_ZF, $0, "REPNE SCASB without a match: ZF clear"
        lea big_buf(%rip), %rdi
        mov $100, %ecx
        mov $0x61, %eax
        repe scasb
        mov %rdi, %r13
        mov %rcx, %r14
        CHECK_EQ %r13, $(big_buf + 21), "REPE SCASB: RDI past the first difference"
        CHECK_EQ %r14, $79, "REPE SCASB: RCX"
        lea SRC + 8, %rsi
        lodsq
        mov %rax, %rbx
        mov %rsi, %r12
        CHECK_EQ %r12, $(SRC + 16), "LODSQ: RSI"
        CHECK_EQ %rbx, SRC+8, "LODSQ: RAX"

/* --- A #PF in the middle of REP MOVSB (DF = 0): the destination runs into a not-present page. */
        lea hook_map_page(%rip), %rax
        mov %rax, gt_exc_hook(%rip)
        MAP_PAGE 0xc0, SCRATCH(0), PTE_P | PTE_RW
        UNMAP_PAGE 0xc1
        lea SCRATCH(1), %rax
        mov %rax, h_map_phys(%rip)
        lea SCRATCH(0) + 0xff8, %rax
        mov %rax, h_snap_addr(%rip)
        movq $0, h_count(%rip)
        lea SRC + 0x100, %rsi
        mov $(WIN_PAGE(0xc1) - 10), %rdi
        mov $30, %ecx
10:     rep movsb
        mov %rsi, %r12
        mov %rdi, %r13
        mov %rcx, %r14
        movq $0, gt_exc_hook(%rip)
        CHECK_EQ h_count(%rip), $1, "REP MOVSB into a not-present page: one #PF"
        CHECK_EXC $14, $2, $10b, "REP MOVSB into a not-present page"
        CHECK_EQ MB_CR2, $WIN_PAGE(0xc1), "REP MOVSB #PF: CR2 = the first byte of the missing page"
        mov MB_REG(R_RCX), %rax
        add MB_REG(R_RDI), %rax
        sub $(WIN_PAGE(0xc1) - 10), %rax
        CHECK_EQ %rax, $30, "REP MOVSB #PF: RCX + bytes done = the count"
        mov MB_REG(R_RSI), %rax
        sub $(SRC + 0x100), %rax
        mov MB_REG(R_RDI), %rbx
        sub $(WIN_PAGE(0xc1) - 10), %rbx
        CHECK_EQ %rax, %rbx, "REP MOVSB #PF: RSI and RDI advanced alike"
        CHECK_EQ MB_REG(R_RCX), $20, "REP MOVSB #PF: RCX = 20 (the 10 bytes up to the page end done)"
        CHECK_EQ MB_REG(R_RDI), $WIN_PAGE(0xc1), "REP MOVSB #PF: RDI at the missing page"
        CHECK_EQ MB_REG(R_RSI), $(SRC + 0x10a), "REP MOVSB #PF: RSI"
        CHECK_EQ h_snap(%rip), SRC+0x102, "REP MOVSB #PF: the bytes before the page end are stored at the fault"
        CHECK_EQ %r12, $(SRC + 0x11e), "REP MOVSB resumed: RSI at the end"
        CHECK_EQ %r13, $(WIN_PAGE(0xc1) + 20), "REP MOVSB resumed: RDI at the end"
        CHECK_EQ %r14, $0, "REP MOVSB resumed: RCX"
        BYTES_DIFF SCRATCH(0)+0xff6, SRC+0x100, 10
        CHECK_EQ %rax, $-1, "REP MOVSB resumed: the first page's bytes"
        BYTES_DIFF SCRATCH(1), SRC+0x10a, 20
        CHECK_EQ %rax, $-1, "REP MOVSB resumed: the second page's bytes"

/* --- The same for REP STOSB with DF = 1, running down into a not-present page. */
        lea hook_map_page(%rip), %rax
        mov %rax, gt_exc_hook(%rip)
        MAP_PAGE 0xc3, SCRATCH(2), PTE_P | PTE_RW
        UNMAP_PAGE 0xc2
        lea SCRATCH(3), %rax
        mov %rax, h_map_phys(%rip)
        lea SCRATCH(2), %rax
        mov %rax, h_snap_addr(%rip)
        movq $0, h_count(%rip)
        mov $(WIN_PAGE(0xc3) + 9), %rdi
        mov $30, %ecx
        mov $0x3c, %eax
        std
10:     rep stosb
        cld
        mov %rdi, %r13
        mov %rcx, %r14
        movq $0, gt_exc_hook(%rip)
        CHECK_EQ h_count(%rip), $1, "REP STOSB DF=1 into a not-present page: one #PF"
        CHECK_EXC $14, $2, $10b, "REP STOSB DF=1 into a not-present page"
        CHECK_EQ MB_CR2, $(WIN_PAGE(0xc2) + 0xfff), "REP STOSB DF=1 #PF: CR2"
        CHECK_EQ MB_REG(R_RCX), $20, "REP STOSB DF=1 #PF: RCX = 20"
        CHECK_EQ MB_REG(R_RDI), $(WIN_PAGE(0xc2) + 0xfff), "REP STOSB DF=1 #PF: RDI"
        CHECK_EQ h_snap(%rip), $0x3c3c3c3c3c3c3c3c, "REP STOSB DF=1 #PF: the bytes done are stored at the fault"
        CHECK_EQ %r13, $(WIN_PAGE(0xc3) - 21), "REP STOSB DF=1 resumed: RDI"
        CHECK_EQ %r14, $0, "REP STOSB DF=1 resumed: RCX"
        CHECK_EQ SCRATCH(3)+0xfec, $0x3c3c3c3c3c3c3c3c, "REP STOSB DF=1 resumed: the second page's bytes"
        CHECK_EQ SCRATCH(3)+0xff8, $0x3c3c3c3c3c3c3c3c, "REP STOSB DF=1 resumed: the second page's last bytes"

/* --- REP MOVSQ whose second element straddles into a not-present page. */
        lea hook_map_page(%rip), %rax
        mov %rax, gt_exc_hook(%rip)
        MAP_PAGE 0xc4, SCRATCH(4), PTE_P | PTE_RW
        UNMAP_PAGE 0xc5
        lea SCRATCH(5), %rax
        mov %rax, h_map_phys(%rip)
        lea SCRATCH(4) + 0xff4, %rax
        mov %rax, h_snap_addr(%rip)
        movq $0, h_count(%rip)
        lea SRC + 0x200, %rsi
        mov $(WIN_PAGE(0xc5) - 12), %rdi
        mov $4, %ecx
10:     rep movsq
        mov %rcx, %r14
        movq $0, gt_exc_hook(%rip)
        CHECK_EQ h_count(%rip), $1, "REP MOVSQ straddling into a not-present page: one #PF"
        CHECK_EXC $14, $2, $10b, "REP MOVSQ straddling into a not-present page"
        CHECK_EQ MB_REG(R_RCX), $3, "REP MOVSQ #PF: RCX = 3 (one qword done)"
        CHECK_EQ MB_REG(R_RDI), $(WIN_PAGE(0xc5) - 4), "REP MOVSQ #PF: RDI at the straddling qword"
        CHECK_EQ MB_REG(R_RSI), $(SRC + 0x208), "REP MOVSQ #PF: RSI"
        CHECK_EQ h_snap(%rip), SRC+0x200, "REP MOVSQ #PF: the first qword is stored at the fault"
        CHECK_EQ %r14, $0, "REP MOVSQ resumed: RCX"
        BYTES_DIFF SCRATCH(4)+0xff4, SRC+0x200, 12
        CHECK_EQ %rax, $-1, "REP MOVSQ resumed: the first page's bytes"
        BYTES_DIFF SCRATCH(5), SRC+0x20c, 20
        CHECK_EQ %rax, $-1, "REP MOVSQ resumed: the second page's bytes"
        ret

/* Hook: on #PF, count it, snapshot the qword at h_snap_addr, map the faulting page of the
 * window to h_map_phys and resume (IRETQ); other exceptions go on to the usual handling. */
hook_map_page:
        cmpq $14, SV_VEC(%rdi)
        jne 1f
        incq h_count(%rip)
        mov h_snap_addr(%rip), %rax
        mov (%rax), %rax
        mov %rax, h_snap(%rip)
        mov %cr2, %rax
        sub $WIN, %rax
        shr $12, %rax
        mov h_map_phys(%rip), %rdx
        or $(PTE_P | PTE_RW), %rdx
        lea gt_pt_win(%rip), %rcx
        mov %rdx, (%rcx, %rax, 8)
        mov %cr2, %rax
        invlpg (%rax)
        xor %eax, %eax
        ret
1:      mov $1, %eax
        ret

/* Helpers, without string instructions. */
/* fill_bytes: %rcx bytes of %al at %rdi. */
fill_bytes:
        test %rcx, %rcx
        jz 2f
1:      mov %al, (%rdi)
        inc %rdi
        dec %rcx
        jnz 1b
2:      ret
/* fill_pattern: byte i of %rdi = (i * 7 + %dl) & 0xff, for %rcx bytes. */
fill_pattern:
        xor %eax, %eax
1:      cmp %rcx, %rax
        je 2f
        imul $7, %eax, %r8d
        add %edx, %r8d
        mov %r8b, (%rdi, %rax)
        inc %rax
        jmp 1b
2:      ret
/* bytes_diff: first index where %rsi and %rdi differ over %rcx bytes, or -1. */
bytes_diff:
        xor %eax, %eax
1:      cmp %rcx, %rax
        je 2f
        movzbl (%rsi, %rax), %r8d
        movzbl (%rdi, %rax), %r9d
        cmp %r8d, %r9d
        jne 3f
        inc %rax
        jmp 1b
2:      mov $-1, %rax
3:      ret
/* count_not_byte: how many of the %rcx bytes at %rsi differ from %al. */
count_not_byte:
        movzbl %al, %r9d
        xor %eax, %eax
1:      test %rcx, %rcx
        jz 2f
        movzbl (%rsi), %r8d
        cmp %r8d, %r9d
        je 3f
        inc %rax
3:      inc %rsi
        dec %rcx
        jmp 1b
2:      ret
/* check_period: first index i < %rcx with byte i != byte (i - %rdx) (i >= %rdx), or -1. */
check_period:
        mov %rdx, %rax
1:      cmp %rcx, %rax
        je 2f
        mov %rax, %r8
        sub %rdx, %r8
        movzbl (%rsi, %r8), %r9d
        movzbl (%rsi, %rax), %r10d
        cmp %r9d, %r10d
        jne 3f
        inc %rax
        jmp 1b
2:      mov $-1, %rax
3:      ret

        .data
        .balign 8
fives:  .fill 128, 1, 0x5a
h_count: .quad 0
h_snap: .quad 0
h_snap_addr: .quad 0
h_map_phys: .quad 0

        .bss
        .balign 4096
src_buf: .space 4096
dst_buf: .space 8192
big_buf: .space 4096
cmp_buf: .space 4096
