// The emulator's command line, parsed the way QEMU 7.2's softmmu/vl.c does, into plain data.
//
// parse_cmdline() never prints and never exits: it returns a MachinaConfig or an Error whose
// text is ready to print (QEMU's form "PROG: -OPTION ARG: MESSAGE", possibly followed by hint
// lines). Every option may be written with "--". Nothing here builds a machine: values are
// checked only as far as QEMU checks them while reading the command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hw/core/machine-smp.h"
#include "qapi/error.h"
#include "util/qemu-option.h"

namespace machina {

// What the caller should do after parsing.
enum class CmdlineAction {
  Run,          // build and run the machine
  ShowUsage,    // -h / -help: print cmdline_help_text(), exit 0
  ShowVersion,  // -version: print cmdline_version_text(), exit 0
  ShowHelp,     // an option asked for help (see MachinaConfig::help_requests), print it, exit 0
};

// "-device help", "-machine help", "-cpu help", ... QEMU answers some at once (machine, accel,
// display, smp, boot, object: parsing stops there and action is ShowHelp) and others after the
// whole command line was read (device, cpu, chardev, netdev, vga, L: parsing goes on, action
// stays Run unless something else set it; the caller answers the first request and exits 0).
struct HelpRequest {
  std::string option;  // option name without dashes: "device", "machine", "cpu", ...
  std::string arg;     // the option's argument as written
  QemuOpts opts;       // parsed argument (e.g. driver=virtio-blk-pci, help=on)
};

struct AccelConfig {
  std::string name;  // "kvm", "tcg", "qtest", ...
  QemuOpts props;    // other properties of -accel NAME,PROP=VAL (without "accel")
};

struct MemoryConfig {
  std::optional<uint64_t> size;  // bytes; "-m 512" means 512 MiB, "-m 1G" 1 GiB
  std::optional<uint64_t> slots;
  std::optional<uint64_t> maxmem;  // bytes
};

struct CpuConfig {
  std::string model;                  // "qemu64"; "help" is reported as a HelpRequest
  std::vector<std::string> features;  // the comma-separated rest: "apic-id=0", "+sse4.2", ...
  std::string raw;                    // the argument as written
};

// A monitor (QEMU's "mon" option group).
struct MonitorConfig {
  std::string id;       // may be empty
  std::string chardev;  // id of the chardev it runs on
  std::string mode;     // "readline" (HMP) or "control" (QMP)
  bool pretty = false;
};

// -serial: the chardev created for it ("serial0", ...). "none" creates nothing.
struct SerialConfig {
  std::string chardev;
  std::string spec;  // as written
};

// -drive, -device, -netdev, -object given either as QemuOpts or (device, netdev, object,
// blockdev) as a JSON object.
struct OptionSet {
  QemuOpts opts;     // parsed keys (empty for JSON)
  std::string json;  // the JSON text when given as '{...}', else empty
  std::string raw;   // the argument as written (for error messages)
  bool is_json() const { return !json.empty(); }
};

struct GlobalConfig {
  std::string driver, property, value;
};

struct MachinaConfig {
  CmdlineAction action = CmdlineAction::Run;
  std::vector<HelpRequest> help_requests;
  std::vector<std::string> warnings;  // ready to print (deprecations)

  // -machine / -M (keyval): type and properties; a later key replaces an earlier one. The legacy
  // "accel" key is moved to `accelerators`. -nographic adds graphics=off.
  std::optional<std::string> machine_type;
  QemuOpts machine_props;
  // Accelerators to try in order: from -accel (repeatable), or from -machine accel=A:B, or
  // -enable-kvm. Empty means the machine's default.
  std::vector<AccelConfig> accelerators;

  MemoryConfig memory;
  SmpConfig smp;
  std::optional<CpuConfig> cpu;
  std::optional<std::string> kernel, initrd, append, firmware /* -bios */;
  std::vector<std::string> data_dirs;  // -L
  QemuOpts boot;                       // -boot (keyval: order, once, menu, ...)
  QemuOpts rtc;                        // -rtc base=,clock=,driftfix=
  std::optional<std::string> name;     // -name guest
  QemuOpts name_opts;                  // -name all keys (guest, process, debug-threads)

  // Display: only "none" exists. -nographic sets display_none and nographic.
  bool nographic = false;
  bool display_none = false;       // -display none (or -nographic)
  std::optional<std::string> vga;  // -vga none

  bool nodefaults = false;
  bool no_user_config = false;
  bool start_paused = false;  // -S
  bool no_reboot = false;     // action reboot=shutdown
  bool no_shutdown = false;   // action shutdown=pause
  bool daemonize = false;
  std::optional<std::string> pidfile;
  std::optional<std::string> log_file;  // -D
  std::vector<std::string> log_items;   // -d a,b (last -d wins, as QEMU)
  std::vector<QemuOpts> trace;          // -trace (enable=, events=, file=)
  std::vector<QemuOpts> sandbox;        // -sandbox

  // QEMU's default_* flags as the command line leaves them (the machine type may clear more).
  bool default_serial = true, default_parallel = true, default_monitor = true, default_vga = true,
       default_net = true;

  std::vector<QemuOpts> chardevs;       // -chardev and the ones made for -serial/-monitor/-qmp
  std::vector<MonitorConfig> monitors;  // -mon, -monitor, -qmp, -qmp-pretty, -serial mon:
  std::vector<SerialConfig> serials;
  std::optional<std::string> qtest;      // -qtest CHARDEV-SPEC (e.g. unix:/tmp/x.sock)
  std::optional<std::string> qtest_log;  // -qtest-log FILE

  std::vector<OptionSet> devices;  // -device, in order
  std::vector<QemuOpts> drives;    // -drive (and a bare FILE argument: file=,index=0,media=disk)
  std::vector<std::string> drive_args;  // each -drive's argument as written (error locations)
  std::vector<OptionSet> blockdevs;     // -blockdev (keyval, implied "driver")
  std::vector<OptionSet> netdevs;       // -netdev (implied "type")
  std::vector<OptionSet> objects;       // -object (implied "qom-type")
  std::vector<GlobalConfig> globals;    // -global
};

// Parses ARGS (argv without argv[0]). PROG prefixes error and warning texts ("machina").
Result<MachinaConfig> parse_cmdline(const std::vector<std::string>& args,
                                    std::string_view prog = "machina");

// Parses a chardev shorthand as used by -serial/-monitor/-qmp ("stdio", "null", "pty",
// "unix:PATH,server=on,wait=off", "tcp:HOST:PORT,server,nowait", "file:PATH", "pipe:PATH",
// "udp:...", "vc", "mon:stdio" (only if permit_mux_mon), "/dev/...") into the options of an
// equivalent -chardev with id LABEL, as QEMU's qemu_chr_parse_compat. "chardev:ID" is not a
// shorthand (callers handle it).
Result<QemuOpts> parse_chardev_compat(std::string_view label, std::string_view spec,
                                      bool permit_mux_mon);

// The option groups used (for callers that parse more of them, e.g. device_add in HMP).
const OptsListSpec& chardev_opts_spec();
const OptsListSpec& device_opts_spec();

std::string cmdline_help_text(std::string_view prog = "machina");
std::string cmdline_version_text();

}  // namespace machina
