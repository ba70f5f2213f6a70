#include "system/cmdline.h"

#include <gtest/gtest.h>

namespace machina {
namespace {

Result<MachinaConfig> P(std::vector<std::string> a) {
  return parse_cmdline(a, "machina");
}

std::string Err(std::vector<std::string> a) {
  auto r = P(std::move(a));
  EXPECT_FALSE(r.ok());
  return r.ok() ? std::string("<ok>") : r.message();
}

TEST(CmdlineTest, QtestCommandLine) {
  // As libqtest builds it, with two spaces in a row split into words by /bin/sh.
  auto r = P({"-qtest",     "unix:/tmp/qtest-1.sock",
              "-qtest-log", "/dev/null",
              "-chardev",   "socket,path=/tmp/qtest-1.qmp,id=char0",
              "-mon",       "chardev=char0,mode=control",
              "-display",   "none",
              "-accel",     "kvm",
              "-accel",     "tcg",
              "-M",         "pc",
              "-cpu",       "qemu64,apic-id=0",
              "-accel",     "qtest"});
  ASSERT_TRUE(r.ok()) << r.message();
  const MachinaConfig& c = r.value();
  EXPECT_EQ(c.action, CmdlineAction::Run);
  EXPECT_EQ(c.qtest, "unix:/tmp/qtest-1.sock");
  EXPECT_EQ(c.qtest_log, "/dev/null");
  ASSERT_EQ(c.chardevs.size(), 1u);
  EXPECT_EQ(c.chardevs[0].id, "char0");
  EXPECT_EQ(*c.chardevs[0].get("backend"), "socket");
  EXPECT_EQ(*c.chardevs[0].get("path"), "/tmp/qtest-1.qmp");
  ASSERT_EQ(c.monitors.size(), 1u);
  EXPECT_EQ(c.monitors[0].chardev, "char0");
  EXPECT_EQ(c.monitors[0].mode, "control");
  EXPECT_TRUE(c.display_none);
  ASSERT_EQ(c.accelerators.size(), 3u);
  EXPECT_EQ(c.accelerators[0].name, "kvm");
  EXPECT_EQ(c.accelerators[1].name, "tcg");
  EXPECT_EQ(c.accelerators[2].name, "qtest");
  EXPECT_EQ(c.machine_type, "pc");
  ASSERT_TRUE(c.cpu);
  EXPECT_EQ(c.cpu->model, "qemu64");
  EXPECT_EQ(c.cpu->features, std::vector<std::string>{"apic-id=0"});
  EXPECT_FALSE(c.default_monitor);
}

TEST(CmdlineTest, TraceFirstAndDoubleDash) {
  auto r = P({"--trace", "qmp*", "--machine", "none", "--m", "256"});
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(r->trace.size(), 1u);
  EXPECT_EQ(*r->trace[0].get("enable"), "qmp*");
  EXPECT_EQ(r->machine_type, "none");
  EXPECT_EQ(r->memory.size, 256ull << 20);
}

TEST(CmdlineTest, InvalidOptionAndMissingArgument) {
  EXPECT_EQ(Err({"-foo"}), "machina: -foo: invalid option");
  EXPECT_EQ(Err({"--foo"}), "machina: --foo: invalid option");
  EXPECT_EQ(Err({"-"}), "machina: -: invalid option");
  EXPECT_EQ(Err({"-m"}), "machina: -m: requires an argument");
  EXPECT_EQ(Err({"-M", "pc", "--device"}), "machina: --device: requires an argument");
  auto other = parse_cmdline({"-bar"}, "qemu-system-x86_64");
  EXPECT_EQ(other.message(), "qemu-system-x86_64: -bar: invalid option");
}

TEST(CmdlineTest, Machine) {
  auto r = P({"-machine", "q35,accel=tcg,usb=off", "-M", "smm=off"});
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->machine_type, "q35");
  EXPECT_EQ(*r->machine_props.get("usb"), "off");
  EXPECT_EQ(*r->machine_props.get("smm"), "off");
  EXPECT_FALSE(r->machine_props.has("accel"));
  ASSERT_EQ(r->accelerators.size(), 1u);
  EXPECT_EQ(r->accelerators[0].name, "tcg");
  auto two = P({"-machine", "pc,accel=kvm:tcg"});
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->accelerators.size(), 2u);
  EXPECT_EQ(two->accelerators[1].name, "tcg");
  EXPECT_EQ(Err({"-machine", "pc,foo"}),
            "machina: -machine pc,foo: Expected '=' after parameter 'foo'");
  EXPECT_EQ(Err({"-machine", "accel=tcg", "-accel", "kvm"}),
            "machina: The -accel and \"-machine accel=\" options are incompatible");
  EXPECT_EQ(Err({"-enable-kvm", "-accel", "tcg"}),
            "machina: The -accel and \"-machine accel=\" options are incompatible");
  auto kvm = P({"-enable-kvm"});
  ASSERT_TRUE(kvm.ok());
  ASSERT_EQ(kvm->accelerators.size(), 1u);
  EXPECT_EQ(kvm->accelerators[0].name, "kvm");
}

TEST(CmdlineTest, AccelProperties) {
  auto r = P({"-accel", "tcg,thread=single,tb-size=64"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->accelerators.size(), 1u);
  EXPECT_EQ(*r->accelerators[0].props.get("thread"), "single");
  EXPECT_EQ(*r->accelerators[0].props.get("tb-size"), "64");
  EXPECT_FALSE(r->accelerators[0].props.has("accel"));
}

TEST(CmdlineTest, HelpRequests) {
  auto m = P({"-machine", "help", "-foo"});  // stops at once: -foo is never seen
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->action, CmdlineAction::ShowHelp);
  ASSERT_EQ(m->help_requests.size(), 1u);
  EXPECT_EQ(m->help_requests[0].option, "machine");
  auto a = P({"-accel", "help"});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->action, CmdlineAction::ShowHelp);
  auto d = P({"-device", "help", "-device", "e1000,help"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->action, CmdlineAction::Run);
  ASSERT_EQ(d->help_requests.size(), 2u);
  EXPECT_EQ(d->help_requests[1].option, "device");
  EXPECT_EQ(*d->help_requests[1].opts.get("driver"), "e1000");
  auto c = P({"-cpu", "help"});
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->help_requests.size(), 1u);
  EXPECT_EQ(c->help_requests[0].option, "cpu");
  auto h = P({"-h", "-foo"});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->action, CmdlineAction::ShowUsage);
  auto v = P({"--version"});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->action, CmdlineAction::ShowVersion);
  EXPECT_NE(cmdline_help_text().find("-device driver"), std::string::npos);
  EXPECT_TRUE(cmdline_version_text().starts_with("machina version "));
}

TEST(CmdlineTest, Memory) {
  auto r = P({"-m", "512"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->memory.size, 512ull << 20);
  auto g = P({"-m", "1G"});
  EXPECT_EQ(g->memory.size, 1ull << 30);
  auto full = P({"-m", "size=2G,slots=4,maxmem=8G"});
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->memory.size, 2ull << 30);
  EXPECT_EQ(full->memory.slots, 4u);
  EXPECT_EQ(full->memory.maxmem, 8ull << 30);
  auto merged = P({"-m", "1G", "-m", "slots=2"});
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->memory.size, 1ull << 30);
  EXPECT_EQ(merged->memory.slots, 2u);
  EXPECT_TRUE(
      Err({"-m", "foo"})
          .starts_with(
              "machina: -m foo: Parameter 'size' expects a non-negative number below 2^64\n"));
  EXPECT_EQ(Err({"-m", "1G,bar=1"}), "machina: -m 1G,bar=1: Invalid parameter 'bar'");
}

TEST(CmdlineTest, Smp) {
  auto r = P({"-smp", "4,sockets=2,cores=2,threads=1,maxcpus=8"});
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->smp.cpus, 4u);
  EXPECT_EQ(r->smp.sockets, 2u);
  EXPECT_EQ(r->smp.cores, 2u);
  EXPECT_EQ(r->smp.threads, 1u);
  EXPECT_EQ(r->smp.maxcpus, 8u);
  EXPECT_EQ(Err({"-smp", "x"}), "machina: Parameter 'smp.cpus' expects integer");
  EXPECT_EQ(Err({"-smp", "2,foo=1"}), "machina: Parameter 'smp.foo' is unexpected");
}

TEST(CmdlineTest, KernelAndSimpleOptions) {
  auto r = P({"-kernel",
              "bz",
              "-initrd",
              "rd",
              "-append",
              "console=ttyS0  quiet",
              "-name",
              "vm1,debug-threads=on",
              "-nographic",
              "-nodefaults",
              "-no-user-config",
              "-S",
              "-no-reboot",
              "-no-shutdown",
              "-pidfile",
              "/tmp/p",
              "-daemonize",
              "-D",
              "/tmp/log",
              "-d",
              "int,guest_errors",
              "-L",
              "/usr/share/qemu",
              "-bios",
              "bios.bin",
              "-boot",
              "order=c,menu=on",
              "-rtc",
              "base=utc,clock=vm",
              "-vga",
              "none",
              "-sandbox",
              "on"});
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->kernel, "bz");
  EXPECT_EQ(r->initrd, "rd");
  EXPECT_EQ(r->append, "console=ttyS0  quiet");
  EXPECT_EQ(r->name, "vm1");
  EXPECT_EQ(*r->name_opts.get("debug-threads"), "on");
  EXPECT_TRUE(r->nographic);
  EXPECT_TRUE(r->display_none);
  EXPECT_EQ(*r->machine_props.get("graphics"), "off");
  EXPECT_TRUE(r->nodefaults && r->no_user_config && r->start_paused && r->no_reboot &&
              r->no_shutdown && r->daemonize);
  EXPECT_EQ(r->pidfile, "/tmp/p");
  EXPECT_EQ(r->log_file, "/tmp/log");
  EXPECT_EQ(r->log_items, (std::vector<std::string>{"int", "guest_errors"}));
  EXPECT_EQ(r->data_dirs, std::vector<std::string>{"/usr/share/qemu"});
  EXPECT_EQ(r->firmware, "bios.bin");
  EXPECT_EQ(*r->boot.get("order"), "c");
  EXPECT_EQ(*r->boot.get("menu"), "on");
  EXPECT_EQ(*r->rtc.get("base"), "utc");
  EXPECT_EQ(r->vga, "none");
  ASSERT_EQ(r->sandbox.size(), 1u);
  EXPECT_EQ(*r->sandbox[0].get("enable"), "on");
  EXPECT_EQ(Err({"-append", "x"}), "machina: -append only allowed with -kernel option");
  EXPECT_EQ(Err({"-initrd", "x"}), "machina: -initrd only allowed with -kernel option");
  EXPECT_TRUE(Err({"-d", "bogus"}).starts_with("Log items (comma separated):"));
}

TEST(CmdlineTest, DisplayAndVgaErrors) {
  EXPECT_EQ(Err({"-display", "gtk"}),
            "machina: -display gtk: Parameter 'type' does not accept value 'gtk'");
  EXPECT_EQ(Err({"-vga", "std"}), "machina: -vga std: standard VGA not available");
  EXPECT_EQ(Err({"-vga", "foo"}), "machina: -vga foo: unknown vga type: foo");
  auto h = P({"-display", "help"});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->action, CmdlineAction::ShowHelp);
}

TEST(CmdlineTest, DevicesDrivesNetdevsObjects) {
  auto r = P({"-device", "virtio-blk-pci,drive=d0,id=vd0", "-drive", "file=a,,b.img,if=none,id=d0",
              "-netdev", "user,id=n0", "-object", "rng-random,id=rng0,filename=/dev/urandom",
              "-blockdev", "driver=null-co,node-name=nc0", "-device",
              "{\"driver\":\"e1000\",\"id\":\"n1\"}", "disk.img"});
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(r->devices.size(), 2u);
  EXPECT_EQ(*r->devices[0].opts.get("driver"), "virtio-blk-pci");
  EXPECT_EQ(r->devices[0].opts.id, "vd0");
  EXPECT_TRUE(r->devices[1].is_json());
  ASSERT_EQ(r->drives.size(), 2u);
  EXPECT_EQ(*r->drives[0].get("file"), "a,b.img");
  EXPECT_EQ(*r->drives[1].get("file"), "disk.img");
  EXPECT_EQ(*r->drives[1].get("media"), "disk");
  EXPECT_EQ(*r->netdevs[0].opts.get("type"), "user");
  EXPECT_FALSE(r->default_net);
  EXPECT_EQ(*r->objects[0].opts.get("qom-type"), "rng-random");
  EXPECT_EQ(r->objects[0].opts.id, "rng0");
  EXPECT_EQ(*r->blockdevs[0].opts.get("node-name"), "nc0");
  EXPECT_EQ(Err({"-device", "{bad"}), "machina: -device {bad: JSON parse error");
  EXPECT_EQ(Err({"-chardev", "null,id=c", "-chardev", "stdio,id=c"}),
            "machina: -chardev stdio,id=c: Duplicate ID 'c' for chardev");
  EXPECT_EQ(Err({"-device", "e1000,id=a", "-device", "e1000,id=a"}),
            "machina: -device e1000,id=a: Duplicate ID 'a' for device");
  EXPECT_EQ(Err({"-netdev", "user,id=n", "-netdev", "user,id=n"}),
            "machina: -netdev user,id=n: Duplicate ID 'n' for netdev");
  EXPECT_TRUE(
      Err({"-device", "e1000,id=9"})
          .starts_with("machina: -device e1000,id=9: Parameter 'id' expects an identifier"));
  EXPECT_EQ(Err({"-object", "id=x"}), "machina: -object id=x: Parameter 'qom-type' is missing");
  EXPECT_EQ(Err({"-object", "memory-backend-ram"}),
            "machina: -object memory-backend-ram: Parameter 'id' is missing");
  EXPECT_EQ(Err({"-blockdev", "node-name=x"}),
            "machina: -blockdev node-name=x: Parameter 'driver' is missing");
  EXPECT_EQ(Err({"-chardev", "socket,id=c,bogus=1"}),
            "machina: -chardev socket,id=c,bogus=1: Invalid parameter 'bogus'");
}

TEST(CmdlineTest, Globals) {
  auto r = P(
      {"-global", "isa-fdc.driveA=d0", "-global", "driver=cfi.pflash01,property=secure,value=on"});
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(r->globals.size(), 2u);
  EXPECT_EQ(r->globals[0].driver, "isa-fdc");
  EXPECT_EQ(r->globals[0].property, "driveA");
  EXPECT_EQ(r->globals[0].value, "d0");
  EXPECT_EQ(r->globals[1].driver, "cfi.pflash01");
  EXPECT_EQ(r->globals[1].value, "on");
  EXPECT_EQ(Err({"-global", "driver=x"}),
            "machina: -global driver=x: options 'driver', 'property', and 'value' are required");
}

TEST(CmdlineTest, ChardevWarningsCarryLocation) {
  auto r = P({"-chardev", "socket,id=c,path=/x,server,nowait"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->warnings.size(), 2u);
  EXPECT_EQ(r->warnings[0],
            "machina: -chardev socket,id=c,path=/x,server,nowait: warning: short-form boolean "
            "option 'server' deprecated\nPlease use server=on instead");
  EXPECT_EQ(*r->chardevs[0].get("server"), "on");
  EXPECT_EQ(*r->chardevs[0].get("wait"), "off");
}

TEST(ChardevCompatTest, Shorthands) {
  auto s = parse_chardev_compat("l", "stdio", false);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->id, "l");
  EXPECT_EQ(*s->get("backend"), "stdio");
  EXPECT_EQ(*parse_chardev_compat("l", "null", false)->get("backend"), "null");
  EXPECT_EQ(*parse_chardev_compat("l", "pty", false)->get("backend"), "pty");

  auto u = parse_chardev_compat("l", "unix:/tmp/s,server=on,wait=off", false);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(*u->get("backend"), "socket");
  EXPECT_EQ(*u->get("path"), "/tmp/s");
  EXPECT_EQ(*u->get("server"), "on");
  EXPECT_EQ(*u->get("wait"), "off");

  auto t = parse_chardev_compat("l", "tcp:localhost:4444,server,nowait", false);
  ASSERT_TRUE(t.ok()) << t.message();
  EXPECT_EQ(*t->get("backend"), "socket");
  EXPECT_EQ(*t->get("host"), "localhost");
  EXPECT_EQ(*t->get("port"), "4444");
  EXPECT_EQ(*t->get("server"), "on");
  EXPECT_EQ(*t->get("wait"), "off");
  auto t2 = parse_chardev_compat("l", "telnet::5555", false);
  ASSERT_TRUE(t2.ok());
  EXPECT_EQ(*t2->get("host"), "");
  EXPECT_EQ(*t2->get("telnet"), "on");

  auto f = parse_chardev_compat("l", "file:/tmp/out", false);
  EXPECT_EQ(*f->get("backend"), "file");
  EXPECT_EQ(*f->get("path"), "/tmp/out");
  auto p = parse_chardev_compat("l", "pipe:/tmp/fifo", false);
  EXPECT_EQ(*p->get("backend"), "pipe");
  auto dev = parse_chardev_compat("l", "/dev/ttyS0", false);
  EXPECT_EQ(*dev->get("backend"), "serial");
  auto vc = parse_chardev_compat("l", "vc:80Cx24C", false);
  ASSERT_TRUE(vc.ok());
  EXPECT_EQ(*vc->get("cols"), "80");
  EXPECT_EQ(*vc->get("rows"), "24");

  auto m = parse_chardev_compat("l", "mon:stdio", true);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m->get("mux"), "on");
  EXPECT_EQ(*m->get("signal"), "off");
  EXPECT_EQ(parse_chardev_compat("l", "mon:stdio", false).message(),
            "mon: isn't supported in this context");
  EXPECT_EQ(parse_chardev_compat("l", "bogus", false).message(),
            "'bogus' is not a valid char driver");
  EXPECT_EQ(parse_chardev_compat("l", "unix:/x,frob=1", false).message(),
            "Invalid parameter 'frob'");
}

TEST(CmdlineTest, SerialMonitorQmp) {
  auto r = P({"-serial", "mon:stdio", "-serial", "none", "-serial", "file:/tmp/s1", "-monitor",
              "none", "-qmp", "unix:/tmp/q,server=on,wait=off", "-qmp-pretty",
              "tcp::4444,server=on", "-chardev", "null,id=cx", "-qmp", "chardev:cx"});
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(r->serials.size(), 2u);
  EXPECT_EQ(r->serials[0].chardev, "serial0");
  EXPECT_EQ(r->serials[1].chardev, "serial1");
  EXPECT_FALSE(r->default_serial);
  EXPECT_FALSE(r->default_monitor);
  // serial0 (mux), serial1, compat_monitor0, compat_monitor1, cx
  ASSERT_EQ(r->chardevs.size(), 5u);
  EXPECT_EQ(r->chardevs[0].id, "serial0");
  EXPECT_EQ(*r->chardevs[0].get("mux"), "on");
  EXPECT_EQ(*r->chardevs[1].get("backend"), "file");
  EXPECT_EQ(r->chardevs[2].id, "compat_monitor0");
  EXPECT_EQ(*r->chardevs[2].get("path"), "/tmp/q");
  EXPECT_EQ(r->chardevs[3].id, "compat_monitor1");
  ASSERT_EQ(r->monitors.size(), 4u);
  EXPECT_EQ(r->monitors[0].chardev, "serial0");
  EXPECT_EQ(r->monitors[0].mode, "readline");
  EXPECT_EQ(r->monitors[1].chardev, "compat_monitor0");
  EXPECT_EQ(r->monitors[1].mode, "control");
  EXPECT_FALSE(r->monitors[1].pretty);
  EXPECT_TRUE(r->monitors[2].pretty);
  EXPECT_EQ(r->monitors[3].chardev, "cx");
  EXPECT_TRUE(Err({"-serial", "bogus"})
                  .starts_with("machina: -serial bogus: 'bogus' is not a valid char driver"));
  EXPECT_TRUE(Err({"-monitor", "bogus"})
                  .starts_with("machina: -monitor bogus: 'bogus' is not a valid char driver"));
}

// -debugcon DEV, as QEMU: a chardev "debugcon" and an isa-debugcon device with id debugcon on it;
// one only.
TEST(CmdlineTest, Debugcon) {
  auto r = P({"-debugcon", "file:/tmp/dbg"});
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(r->chardevs.size(), 1u);
  EXPECT_EQ(r->chardevs[0].id, "debugcon");
  EXPECT_EQ(*r->chardevs[0].get("backend"), "file");
  EXPECT_EQ(*r->chardevs[0].get("path"), "/tmp/dbg");
  ASSERT_EQ(r->devices.size(), 1u);
  EXPECT_EQ(r->devices[0].opts.get_or("driver", ""), "isa-debugcon");
  EXPECT_EQ(r->devices[0].opts.id, "debugcon");
  EXPECT_EQ(r->devices[0].opts.get_or("chardev", ""), "debugcon");
  EXPECT_EQ(Err({"-debugcon", "stdio", "-debugcon", "null"}),
            "machina: -debugcon null: already have a debugcon device");
  EXPECT_TRUE(Err({"-debugcon", "bogus"})
                  .starts_with("machina: -debugcon bogus: invalid character backend 'bogus'"));
}

}  // namespace
}  // namespace machina
