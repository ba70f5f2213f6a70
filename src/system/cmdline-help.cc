// Texts for -h and -version.
#include "system/cmdline.h"

#ifndef MACHINA_VERSION
#define MACHINA_VERSION "0.0.0"
#endif

namespace machina {

std::string cmdline_version_text() {
  return std::string("machina version ") + MACHINA_VERSION +
         " (QEMU 7.2.0 command-line and QMP interface)\n"
         "An independent reimplementation of QEMU's device model interfaces.\n";
}

std::string cmdline_help_text(std::string_view prog) {
  std::string s = "usage: " + std::string(prog) + " [options] [disk_image]\n\n";
  s += R"(Standard options:
-h or -help              display this help and exit
-version                 display version information and exit
-machine [type=]name[,prop[=value][,...]]
-M name                  select the machine type and its properties ('-machine help' lists them)
                         accel=accel1[:accel2[:...]] selects accelerators (legacy form)
-accel [accel=]name[,prop=value[,...]]
                         select an accelerator (kvm, tcg, qtest); repeat to try several in order
-enable-kvm              same as '-accel kvm'
-cpu model[,feature...]  select the CPU model ('-cpu help' lists them)
-smp [[cpus=]n][,maxcpus=maxcpus][,sockets=s][,dies=d][,clusters=c][,cores=c][,threads=t]
                         set the number of CPUs and their topology
-m [size=]megs[,slots=n,maxmem=size]
                         set the guest RAM size (default unit MiB; suffixes k, M, G, T)
-name string1[,process=string2][,debug-threads=on|off]
-L path                  directory of BIOS and option ROM images
-bios file               firmware image
-boot [order=drives][,once=drives][,menu=on|off][,strict=on|off]
-rtc [base=utc|localtime|datetime][,clock=host|rt|vm][,driftfix=none|slew]

Block and device options:
-device driver[,prop[=value][,...]]
                         add a device ('-device help', '-device driver,help')
-drive [file=file][,if=type][,format=f][,media=d][,index=i][,id=name][,...]
-blockdev [driver=]driver[,node-name=N][,...]
-netdev type,id=str[,...]
-object type,id=str[,prop=value][,...]
-global driver.prop=value
-global driver=driver,property=prop,value=value

Display options:
-display none            no display
-nographic               no graphical output; serial port and monitor on stdio
-vga none                no VGA card

Character devices and monitors:
-chardev backend,id=id[,...]
-serial dev              redirect the serial port (stdio, null, none, pty, file:PATH, pipe:PATH,
                         unix:PATH[,server=on|off][,wait=on|off], tcp:HOST:PORT[,...], mon:dev,
                         chardev:ID)
-monitor dev             HMP monitor on dev
-qmp dev                 QMP monitor on dev
-qmp-pretty dev          QMP monitor on dev, pretty-printed JSON
-mon [chardev=]id[,mode=readline|control][,pretty=on|off]

Kernel boot:
-kernel bzImage          Linux kernel image
-append cmdline          kernel command line
-initrd file             initial ram disk

Run control and debugging:
-S                       do not start the CPUs at startup
-no-reboot               exit instead of rebooting
-no-shutdown             stop instead of exiting on guest shutdown
-nodefaults              do not create default devices
-no-user-config          do not load user configuration files
-daemonize               run in the background
-pidfile file            write the process id to file
-d item1,...             enable logging of the given items
-D logfile               write the log to logfile
-trace [[enable=]pattern][,events=file][,file=file]
-sandbox on|off[,...]    seccomp sandbox options (accepted)
-qtest chardev           qtest protocol on chardev (testing)
-qtest-log file          log qtest traffic to file

Every option may also be written with two dashes (--machine).
)";
  return s;
}

}  // namespace machina
