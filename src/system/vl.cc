#include "system/vl.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "accel/kvm/kvm.h"
#include "accel/qtest/qtest.h"
#include "block/block.h"
#include "block/blockdev.h"
#include "chardev/char-stdio.h"
#include "chardev/char.h"
#include "hw/core/machine.h"
#include "hw/core/qdev-monitor.h"
#include "monitor/monitor.h"
#include "monitor/qmp-cmds.h"
#include "net/netdev-registry.h"
#include "qom/object-interfaces.h"
#include "system/cmdline.h"
#include "system/cpus.h"
#include "system/memory.h"
#include "system/rtc-base.h"
#include "system/runstate.h"
#include "system/vl-help.h"
#include "util/log.h"
#include "util/main-loop.h"
#include "util/qemu-timer.h"

namespace machina {

namespace {

constexpr const char* kProg = "machina";

int fail(const std::string& msg) {
  if (!msg.empty()) std::fprintf(stderr, "%s\n", msg.c_str());
  return 1;
}

std::string located(const std::string& option, const std::string& arg, const std::string& msg) {
  return std::string(kProg) + ": -" + option + " " + arg + ": " + msg;
}

ChardevOptions chardev_options(const QemuOpts& o) {
  ChardevOptions c;
  for (const auto& opt : o.opts) c[opt.name] = opt.value;
  if (!o.id.empty()) c["id"] = o.id;
  return c;
}

// Answers the first help request; returns true if one was answered.
bool answer_help(const MachinaConfig& cfg, int* status) {
  if (cfg.help_requests.empty()) return false;
  const HelpRequest& h = cfg.help_requests.front();
  *status = 0;
  std::string out;
  if (h.option == "machine" || h.option == "M") {
    out = machine_help_text();
  } else if (h.option == "accel") {
    out = accel_help_text();
  } else if (h.option == "cpu") {
    out = cpu_help_text();
  } else if (h.option == "object") {
    out = object_help_text();
  } else if (h.option == "netdev") {
    out = "Available netdev backend types:\nuser\ntap\n";
  } else if (h.option == "device") {
    const std::string* driver = h.opts.get("driver");
    if (!driver || *driver == "help" || *driver == "?") {
      out = device_help_text();
    } else {
      auto r = device_type_help_text(*driver);
      if (!r.ok()) {
        *status = fail(located("device", h.arg, r.message()));
        return true;
      }
      out = r.value();
    }
  } else {
    out = "No help available for -" + h.option + "\n";
  }
  std::fputs(out.c_str(), stdout);
  return true;
}

// Signals that ask for a clean shutdown arrive through a signalfd on the main loop.
sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// First thing in main, before any thread exists: threads inherit the mask, so none of them can
// take a shutdown signal's default action (see util/thread-signals.h).
void block_shutdown_signals() {
  sigset_t set = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int setup_signals() {
  ::signal(SIGPIPE, SIG_IGN);
  // A write past RLIMIT_FSIZE fails with EFBIG (an I/O error the drive's werror policy handles)
  // instead of killing the VM.
  ::signal(SIGXFSZ, SIG_IGN);
  sigset_t set = shutdown_signals();
  int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  (void)main_loop().set_fd_handler(
      fd,
      [fd] {
        signalfd_siginfo si;
        while (::read(fd, &si, sizeof si) == sizeof si) {
          qemu_system_shutdown_request("host-signal");
        }
      },
      nullptr);
  return fd;
}

Status create_chardevs(const MachinaConfig& cfg) {
  for (const QemuOpts& o : cfg.chardevs) {
    auto c = chardev_new(chardev_options(o));
    if (!c.ok()) return generic_error(located("chardev", o.to_string(), c.message()));
  }
  return Status::Ok();
}

// -nographic with the defaults (QEMU's qemu_create_default_devices): the serial port and the
// human monitor share stdio through a mux ("serial0"), or the monitor alone takes stdio.
Status create_default_stdio(const MachinaConfig& cfg, const MachineClass& mc) {
  if (!cfg.nographic || cfg.nodefaults) return Status::Ok();
  bool serial = cfg.default_serial && !mc.no_serial;
  if (!cfg.default_monitor) {
    if (!serial) return Status::Ok();
    auto c = chardev_new({{"id", "serial0"}, {"backend", "stdio"}});
    return c.ok() ? Status::Ok() : Status(c.error());
  }
  ChardevOptions o{{"id", serial ? "serial0" : "compat_monitor0"}, {"backend", "stdio"}};
  if (serial) {
    o["mux"] = "on";
    o["signal"] = "off";
  }
  auto c = chardev_new(o);
  if (!c.ok()) return c.error();
  return monitor_init(c.value(), false, false);
}

Status create_monitors(const MachinaConfig& cfg) {
  for (const MonitorConfig& m : cfg.monitors) {
    Chardev* chr = chardev_find(m.chardev);
    if (!chr)
      return generic_error(std::string(kProg) + ": -mon: chardev '" + m.chardev + "' not found");
    if (Status s = monitor_init(chr, m.mode == "control", m.pretty); !s.ok()) {
      return generic_error(std::string(kProg) + ": -mon: " + s.message());
    }
  }
  return Status::Ok();
}

// Tries the accelerators in order; returns the one that initialised.
Result<std::string> select_accelerator(const MachinaConfig& cfg, bool have_qtest_chardev) {
  // Without -accel: QEMU's default, the software CPU (qtest when a -qtest chardev drives the
  // machine).
  if (cfg.accelerators.empty()) return std::string(have_qtest_chardev ? "qtest" : "tcg");
  // As QEMU: tried in order, the first that initialises wins; a failure is reported and the
  // next one is tried ("falling back to tcg").
  bool init_failed = false;
  auto chosen = [&](const std::string& name) {
    if (init_failed && !have_qtest_chardev)
      std::fprintf(stderr, "%s: falling back to %s\n", kProg, name.c_str());
    return name;
  };
  for (const AccelConfig& a : cfg.accelerators) {
    if (a.name == "qtest" || a.name == "tcg") return chosen(a.name);
    if (a.name == "kvm") {
      Status s = kvm::kvm_init(a.props);
      if (s.ok()) return chosen(a.name);
      std::fprintf(stderr, "%s: failed to initialize kvm: %s\n", kProg, s.message().c_str());
      init_failed = true;
      continue;
    }
    std::fprintf(stderr, "%s: -accel %s: invalid accelerator %s\n", kProg, a.name.c_str(),
                 a.name.c_str());
  }
  // Every failure was reported already.
  if (init_failed) return generic_error("");
  return generic_error(std::string(kProg) + ": no accelerator found");
}

Status create_devices(const MachinaConfig& cfg) {
  for (const OptionSet& d : cfg.devices) {
    DeviceOptions o;
    std::string where;
    if (d.is_json()) {
      json j = json::parse(d.json, nullptr, false);
      where = d.raw;
      if (!j.is_object() || !j.contains("driver") || !j["driver"].is_string()) {
        return generic_error(located("device", where, "Parameter 'driver' is missing"));
      }
      for (auto& [k, v] : j.items()) {
        if (k == "driver")
          o.driver = v.get<std::string>();
        else if (k == "id" && v.is_string())
          o.id = v.get<std::string>();
        else if (k == "bus" && v.is_string())
          o.bus = v.get<std::string>();
        else
          o.props.emplace_back(k, v);
      }
    } else {
      where = d.raw;
      o = device_options_from(d.opts);
    }
    auto r = qdev_device_add(o);
    if (!r.ok()) return generic_error(located("device", where, r.message()));
  }
  return Status::Ok();
}

Status create_objects(const MachinaConfig& cfg) {
  for (const OptionSet& ob : cfg.objects) {
    std::string type, id, where;
    std::vector<std::pair<std::string, json>> props;
    if (ob.is_json()) {
      json j = json::parse(ob.json, nullptr, false);
      where = ob.raw;
      if (!j.is_object()) return generic_error(located("object", where, "JSON parse error"));
      for (auto& [k, v] : j.items()) {
        if (k == "qom-type" && v.is_string())
          type = v.get<std::string>();
        else if (k == "id" && v.is_string())
          id = v.get<std::string>();
        else
          props.emplace_back(k, v);
      }
    } else {
      where = ob.raw;
      id = ob.opts.id;
      for (const auto& opt : ob.opts.opts) {
        if (opt.name == "qom-type")
          type = opt.value;
        else
          props.emplace_back(opt.name, json(opt.value));
      }
    }
    auto r = user_creatable_add(type, id, props);
    if (!r.ok()) return generic_error(located("object", where, r.message()));
  }
  return Status::Ok();
}

// -blockdev (in order) then -drive, as QEMU's configure_blockdev: monitor-owned nodes, then
// the drives' backends. if=virtio drives are listed by drives_with_interface("virtio") for
// create_drive_devices().
Status create_block_backends(const MachinaConfig& cfg, const MachineClass& mc) {
  for (const OptionSet& b : cfg.blockdevs) {
    json opts;
    OptSyntax syntax = OptSyntax::Keyval;
    if (b.is_json()) {
      opts = json::parse(b.json, nullptr, false);
      syntax = OptSyntax::Qmp;
      if (!opts.is_object()) return generic_error(located("blockdev", b.raw, "JSON parse error"));
    } else {
      auto j = options_to_json(b.opts);
      if (!j.ok()) return generic_error(located("blockdev", b.raw, j.message()));
      opts = j.value();
    }
    if (Status s = blockdev_add(opts, syntax); !s.ok()) {
      return generic_error(located("blockdev", b.raw, s.message()));
    }
  }
  // QEMU's block_default_type: IDE on PC machines, none for -M none.
  std::string default_if = mc.name == "none" ? "none" : "ide";
  for (size_t i = 0; i < cfg.drives.size(); ++i) {
    auto blk = drive_new(cfg.drives[i], default_if);
    if (!blk.ok()) {
      std::string where = i < cfg.drive_args.size() ? cfg.drive_args[i] : cfg.drives[i].to_string();
      return generic_error(located("drive", where, blk.message()));
    }
  }
  return Status::Ok();
}

// -drive if=virtio: one virtio-blk-pci per drive, as QEMU's drive_new adds
// "-device virtio-blk-pci,drive=ID[,addr=ADDR]".
Status create_drive_devices() {
  for (const std::string& id : drives_with_interface("virtio")) {
    DeviceOptions o;
    o.driver = "virtio-blk-pci";
    o.props.emplace_back("drive", json(id));
    if (const DriveInfo* info = drive_info(id); info && !info->addr.empty()) {
      o.props.emplace_back("addr", json(info->addr));
    }
    auto r = qdev_device_add(o);
    if (!r.ok())
      return generic_error(std::string(kProg) + ": -drive id=" + id + ": " + r.message());
  }
  return Status::Ok();
}

// -netdev (QemuOpts or JSON), in command-line order.
Status create_netdevs(const MachinaConfig& cfg) {
  for (const OptionSet& set : cfg.netdevs) {
    Result<NetdevOptions> o = generic_error("");
    if (set.is_json()) {
      json j = json::parse(set.json, nullptr, false);
      o = netdev_options_from_json(j);
    } else {
      o = netdev_options_from_qemu_opts(set.opts);
    }
    if (!o.ok()) return generic_error(located("netdev", set.raw, o.message()));
    auto nd = netdev_add(o.value());
    if (!nd.ok()) return generic_error(located("netdev", set.raw, nd.message()));
  }
  return Status::Ok();
}

void write_pidfile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  std::string s = std::to_string(::getpid()) + "\n";
  (void)!::write(fd, s.data(), s.size());
  ::close(fd);
}

// -daemonize: the parent waits until the child has started everything, then exits 0 (1 if the
// child failed first), as QEMU's os_daemonize / os_setup_post.
int daemonize_begin() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid > 0) {
    ::close(fds[1]);
    char c = 0;
    ssize_t n = ::read(fds[0], &c, 1);
    ::_exit(n == 1 ? 0 : 1);
  }
  ::close(fds[0]);
  ::setsid();
  return fds[1];
}

void daemonize_done(int fd) {
  if (fd < 0) return;
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::close(null);
  }
  char c = 1;
  (void)!::write(fd, &c, 1);
  ::close(fd);
}

}  // namespace

int machina_main(int argc, char** argv) {
  block_shutdown_signals();
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = parse_cmdline(args, kProg);
  if (!parsed.ok()) return fail(parsed.message());
  MachinaConfig& cfg = parsed.value();
  for (const auto& w : cfg.warnings) std::fprintf(stderr, "%s\n", w.c_str());
  switch (cfg.action) {
    case CmdlineAction::ShowUsage:
      std::fputs(cmdline_help_text(kProg).c_str(), stdout);
      return 0;
    case CmdlineAction::ShowVersion:
      std::fputs(cmdline_version_text().c_str(), stdout);
      return 0;
    case CmdlineAction::ShowHelp:
    case CmdlineAction::Run:
      break;
  }
  if (int status; answer_help(cfg, &status)) return status;

  int daemon_fd = cfg.daemonize ? daemonize_begin() : -1;
  if (Status s = log_setup(cfg.log_items, cfg.log_file); !s.ok()) {
    return fail(std::string(kProg) + ": " + s.message());
  }

  // The machine, first of all: it is /machine.
  const MachineClass* mc =
      cfg.machine_type ? machine_class_find(*cfg.machine_type) : machine_class_default();
  if (!mc) {
    return fail(std::string(kProg) + ": -machine " + *cfg.machine_type +
                ": unsupported machine type\nUse -machine help to list supported machines");
  }
  auto mobj = object_new(mc->type_name());
  if (!mobj.ok()) return fail(std::string(kProg) + ": " + mobj.message());
  auto* machine = static_cast<Machine*>(mobj.value().get());
  (void)object_root()->add_child("machine", machine);
  qdev_set_machine_hotplug_router(
      [machine](Device& dev) { return machine->hotplug_handler_for(dev); });
  address_space_memory();
  address_space_io();
  for (const char* c : {"/machine/unattached", "/machine/peripheral", "/machine/peripheral-anon"}) {
    container_get(c);
  }
  for (const auto& p : cfg.machine_props.opts) {
    if (p.name == "type" || p.name == "graphics") continue;
    if (Status s = machine->property_parse(p.name, p.value); !s.ok()) {
      return fail(std::string(kProg) + ": -machine " + p.name + "=" + p.value + ": " + s.message());
    }
  }
  if (cfg.name) set_guest_name(*cfg.name);
  for (const GlobalConfig& g : cfg.globals) {
    qdev_add_global_property({g.driver, g.property, g.value});
  }

  int sigfd = setup_signals();
  qmp_register_all_commands(QmpCommandRegistry::global());

  if (Status s = create_chardevs(cfg); !s.ok()) return fail(s.message());
  if (Status s = create_monitors(cfg); !s.ok()) return fail(s.message());
  if (Status s = create_default_stdio(cfg, *mc); !s.ok()) {
    return fail(std::string(kProg) + ": -nographic: " + s.message());
  }

  Chardev* qtest_chr = nullptr;
  if (cfg.qtest) {
    auto opts = chardev_parse_legacy(*cfg.qtest);
    if (!opts.ok()) return fail(located("qtest", *cfg.qtest, opts.message()));
    opts.value()["id"] = "qtest";
    auto c = chardev_new(opts.value());
    if (!c.ok()) return fail(located("qtest", *cfg.qtest, c.message()));
    qtest_chr = c.value();
  }
  auto accel = select_accelerator(cfg, qtest_chr != nullptr);
  if (!accel.ok()) return fail(accel.message());
  set_current_accel(accel.value());
  set_no_reboot(cfg.no_reboot);
  if (accel.value() == "qtest") {
    qtest_set_enabled(true);
    virtual_clock_set_mode(VirtualClockMode::Manual);
  }
  if (qtest_chr) {
    // As QEMU: without -qtest-log the protocol is logged to stderr.
    if (Status s = qtest_server_init(qtest_chr, cfg.qtest_log.value_or("/dev/fd/2")); !s.ok()) {
      return fail(located("qtest", *cfg.qtest, s.message()));
    }
  }

  if (Status s = create_netdevs(cfg); !s.ok()) return fail(s.message());

  if (Status s = rtc_configure(cfg.rtc); !s.ok())
    return fail(std::string(kProg) + ": " + s.message());

  MachineParams params;
  params.ram_size = cfg.memory.size.value_or(mc->default_ram_size);
  auto smp = machine_parse_smp(cfg.smp, mc->name, unsigned(mc->max_cpus));
  if (!smp.ok()) return fail(std::string(kProg) + ": " + smp.message());
  params.smp = smp.value();
  if (cfg.kernel) params.kernel = *cfg.kernel;
  if (cfg.initrd) params.initrd = *cfg.initrd;
  if (cfg.append) params.append = *cfg.append;
  if (cfg.cpu) params.cpu_model = cfg.cpu->model;
  params.nographic = cfg.nographic;
  if (Status s = machine->init(params); !s.ok())
    return fail(std::string(kProg) + ": " + s.message());

  if (Status s = create_objects(cfg); !s.ok()) return fail(s.message());
  if (Status s = create_block_backends(cfg, *mc); !s.ok()) return fail(s.message());
  if (Status s = create_drive_devices(); !s.ok()) return fail(s.message());
  if (Status s = create_devices(cfg); !s.ok()) return fail(s.message());
  if (Status s = machine->machine_done(); !s.ok())
    return fail(std::string(kProg) + ": " + s.message());
  // Loading a kernel allocates and frees tens of MiB; give the memory back to the system.
  malloc_trim(0);
  qdev_set_machine_running(true);  // from now on devices are hot-plugged

  if (cfg.pidfile) write_pidfile(*cfg.pidfile);
  if (!cfg.start_paused) vm_start();
  daemonize_done(daemon_fd);

  MainLoop& loop = main_loop();
  while (!loop.quit_requested()) {
    loop.run_once(-1);
    if (handle_shutdown_request()) break;
  }
  cpus_terminate_all();
  bdrv_close_all();
  netdev_del_all();
  // Deliver what is queued (the SHUTDOWN event, the last replies) before leaving.
  for (int i = 0; i < 4; ++i) loop.run_once(0);
  monitor_flush_all();
  if (cfg.pidfile) ::unlink(cfg.pidfile->c_str());
  stdio_restore_terminal();
  ::close(sigfd);
  std::fflush(stdout);
  return 0;
}

}  // namespace machina
