/* A 32-bit Linux program (i386 ABI) for the compatibility-mode guest test: writes a line with
 * INT 0x80, asks getpid() through INT 0x80 and through the vDSO's __kernel_vsyscall (found in
 * the auxiliary vector as AT_SYSINFO; on this CPU vendor it enters with SYSCALL, the AMD
 * compatibility-mode entry, and returns with SYSRETL) and compares them, checks a little 32-bit
 * arithmetic, and exits with 42 when everything held (else 1-3: which check failed). */
#define AT_SYSINFO 32
        .text
        .globl _start
_start:
        mov (%esp), %ecx             /* argc */
        lea 8(%esp,%ecx,4), %esi     /* envp[0] (after argv[argc] == NULL) */
1:      mov (%esi), %eax             /* skip envp up to its NULL */
        add $4, %esi
        test %eax, %eax
        jnz 1b
2:      mov (%esi), %eax             /* auxv: (type, value) pairs up to AT_NULL */
        cmp $AT_SYSINFO, %eax
        je 3f
        mov $3, %ebx                 /* exit status 3: no AT_SYSINFO */
        test %eax, %eax
        jz done
        add $8, %esi
        jmp 2b
3:      mov 4(%esi), %edi            /* __kernel_vsyscall */
        mov $4, %eax                 /* write(1, msg, len) */
        mov $1, %ebx
        mov $msg, %ecx
        mov $(msg_end - msg), %edx
        int $0x80
        mov $20, %eax                /* getpid() through INT 0x80 */
        int $0x80
        mov %eax, %esi
        mov $20, %eax                /* getpid() through the vDSO */
        call *%edi
        mov $1, %ebx                 /* exit status 1: the two getpids differ */
        cmp %eax, %esi
        jne done
        mov $0x7fffffff, %eax        /* 32-bit arithmetic: overflow into the sign */
        add $1, %eax
        mov $2, %ebx                 /* exit status 2: wrong flags */
        jno done
        mov $42, %ebx
done:
        mov $1, %eax                 /* exit(ebx) */
        int $0x80
        .data
msg:    .ascii "hello from 32-bit code\n"
msg_end:
