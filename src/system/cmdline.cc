// argv -> MachinaConfig, following QEMU 7.2's option loop (softmmu/vl.c).
#include "system/cmdline.h"

#include <nlohmann/json.hpp>

#include "util/cutils.h"

namespace machina {

namespace {

struct OptionInfo {
  const char* name;
  bool has_arg;
};

constexpr OptionInfo kOptions[] = {
    {"h", false},          {"help", false},       {"version", false},
    {"machine", true},     {"M", true},           {"accel", true},
    {"enable-kvm", false}, {"m", true},           {"smp", true},
    {"cpu", true},         {"kernel", true},      {"initrd", true},
    {"append", true},      {"name", true},        {"nographic", false},
    {"display", true},     {"nodefaults", false}, {"no-user-config", false},
    {"S", false},          {"no-reboot", false},  {"no-shutdown", false},
    {"serial", true},      {"monitor", true},     {"chardev", true},
    {"mon", true},         {"qmp", true},         {"qmp-pretty", true},
    {"qtest", true},       {"qtest-log", true},   {"device", true},
    {"drive", true},       {"blockdev", true},    {"netdev", true},
    {"object", true},      {"global", true},      {"pidfile", true},
    {"daemonize", false},  {"D", true},           {"d", true},
    {"trace", true},       {"L", true},           {"bios", true},
    {"boot", true},        {"rtc", true},         {"vga", true},
    {"sandbox", true},     {"debugcon", true},
};

const OptionInfo* find_option(std::string_view name) {
  for (const auto& o : kOptions) {
    if (name == o.name) return &o;
  }
  return nullptr;
}

OptsListSpec any_list(const char* name, const char* implied, bool merge = false) {
  OptsListSpec s;
  s.name = name;
  s.implied_key = implied;
  s.merge_lists = merge;
  return s;
}

OptsListSpec typed_list(const char* name, const char* implied, bool merge,
                        std::vector<OptDesc> desc) {
  OptsListSpec s = any_list(name, implied, merge);
  s.desc = std::move(desc);
  return s;
}

constexpr const char* kLogItems[] = {
    "out_asm",      "in_asm", "op",      "op_opt", "op_ind", "op_plugin", "int",
    "exec",         "cpu",    "fpu",     "mmu",    "pcall",  "cpu_reset", "unimp",
    "guest_errors", "page",   "nochain", "plugin", "strace", "tid",       "all"};

bool valid_log_item(std::string_view item) {
  if (item.starts_with("trace:")) return true;
  for (const char* i : kLogItems) {
    if (item == i) return true;
  }
  return false;
}

std::string log_usage() {
  std::string s = "Log items (comma separated):";
  for (const char* i : kLogItems) {
    s += "\n";
    s += i;
  }
  s += "\ntrace:PATTERN";
  return s;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    out.emplace_back(s.substr(start, p == std::string_view::npos ? s.npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

// Names and descriptions QEMU uses for -vga types it knows.
struct VgaType {
  const char* opt;
  const char* name;
};
constexpr VgaType kVgaTypes[] = {
    {"std", "standard VGA"},
    {"cirrus", "Cirrus VGA"},
    {"vmware", "VMWare SVGA"},
    {"qxl", "QXL VGA"},
    {"xenfb", "Xen paravirtualized framebuffer"},
    {"tcx", "TCX framebuffer"},
    {"cg3", "CG3 framebuffer"},
    {"virtio", "Virtio VGA"},
    {"ati", "ATI VGA"},
};

class Parser {
 public:
  Parser(const std::vector<std::string>& args, std::string_view prog) : args_(args), prog_(prog) {}

  Result<MachinaConfig> run();

 private:
  // Error at the current option's location: "PROG: -opt arg: MESSAGE".
  Error at(const std::string& msg) const {
    return generic_error(std::string(prog_) + ": " + loc_ + ": " + msg);
  }
  Error at(const Error& e) const { return at(e.desc); }
  Error bare(const std::string& msg) const {
    return generic_error(std::string(prog_) + ": " + msg);
  }
  void warn(const std::vector<std::string>& ws) {
    for (const auto& w : ws)
      cfg_.warnings.push_back(std::string(prog_) + ": " + loc_ + ": warning: " + w);
  }
  Status handle(std::string_view name, const std::string& arg);
  Status monitor_parse(const std::string& arg, const char* mode, bool pretty);
  Status add_chardev(QemuOpts opts);
  Status parse_json(const std::string& arg, OptionSet* out);
  Status parse_memory(const std::string& arg);
  Status parse_smp(const std::string& arg);
  Status parse_display(const std::string& arg);
  Status parse_vga(const std::string& arg);
  bool help_now(std::string name, const std::string& arg, QemuOpts opts) {
    cfg_.help_requests.push_back(HelpRequest{std::move(name), arg, std::move(opts)});
    cfg_.action = CmdlineAction::ShowHelp;
    return true;
  }
  void help_later(std::string name, const std::string& arg, QemuOpts opts) {
    cfg_.help_requests.push_back(HelpRequest{std::move(name), arg, std::move(opts)});
  }

  const std::vector<std::string>& args_;
  std::string_view prog_;
  std::string loc_;
  MachinaConfig cfg_;
  bool stop_ = false;
  int monitor_index_ = 0;
  int serial_index_ = 0;
  bool have_debugcon_ = false;
  std::optional<std::string> machine_accel_;
  bool enable_kvm_ = false;
  QemuOptsGroup chardevs_{chardev_opts_spec()};
  QemuOptsGroup mons_{typed_list(
      "mon", "chardev", false,
      {{"mode", OptType::String}, {"chardev", OptType::String}, {"pretty", OptType::Bool}})};
  QemuOptsGroup devices_{device_opts_spec()};
  QemuOptsGroup drives_{any_list("drive", "")};
  QemuOptsGroup netdevs_{any_list("netdev", "type")};
  QemuOptsGroup objects_{any_list("object", "qom-type")};
  QemuOptsGroup accels_{any_list("accel", "accel")};
  QemuOptsGroup memory_{
      typed_list("memory", "size", true,
                 {{"size", OptType::Size}, {"slots", OptType::Number}, {"maxmem", OptType::Size}})};
  QemuOptsGroup name_{typed_list("name", "guest", true,
                                 {{"guest", OptType::String},
                                  {"process", OptType::String},
                                  {"debug-threads", OptType::Bool}})};
  QemuOptsGroup rtc_{typed_list(
      "rtc", "", true,
      {{"base", OptType::String}, {"clock", OptType::String}, {"driftfix", OptType::String}})};
  QemuOptsGroup trace_{typed_list(
      "trace", "enable", false,
      {{"enable", OptType::String}, {"events", OptType::String}, {"file", OptType::String}})};
  QemuOptsGroup sandbox_{typed_list("sandbox", "enable", true,
                                    {{"enable", OptType::Bool},
                                     {"obsolete", OptType::String},
                                     {"elevateprivileges", OptType::String},
                                     {"spawn", OptType::String},
                                     {"resourcecontrol", OptType::String}})};
  QemuOptsGroup globals_{typed_list(
      "global", "", false,
      {{"driver", OptType::String}, {"property", OptType::String}, {"value", OptType::String}})};
};

Status Parser::add_chardev(QemuOpts opts) {
  auto r = chardevs_.add(std::move(opts));
  if (!r.ok()) return r.error();
  return Status::Ok();
}

Status Parser::monitor_parse(const std::string& arg, const char* mode, bool pretty) {
  std::string label;
  if (arg.starts_with("chardev:")) {
    label = arg.substr(8, 31);
  } else {
    label = "compat_monitor" + std::to_string(monitor_index_);
    auto opts = parse_chardev_compat(label, arg, true);
    if (!opts.ok()) return at(opts.error().desc + "\nparse error: " + arg);
    Status st = add_chardev(std::move(opts.value()));
    if (!st.ok()) return at(st.error());
  }
  QemuOpts mon;
  mon.id = label;
  mon.set("mode", mode);
  mon.set("chardev", label);
  if (std::string_view(mode) == "control") mon.set("pretty", pretty ? "on" : "off");
  auto r = mons_.add(std::move(mon));
  if (!r.ok()) return at(r.error());
  ++monitor_index_;
  return Status::Ok();
}

Status Parser::parse_json(const std::string& arg, OptionSet* out) {
  auto j = nlohmann::json::parse(arg, nullptr, false);
  if (j.is_discarded()) return at("JSON parse error");
  if (!j.is_object()) return at("Invalid JSON object given");
  out->json = arg;
  return Status::Ok();
}

Status Parser::parse_memory(const std::string& arg) {
  auto r = memory_.add(arg);
  if (!r.ok()) return at(r.error());
  const QemuOpts& o = memory_.all()[r.value()];
  MemoryConfig m;
  auto size = o.get_size("size", 0);
  if (!size.ok()) return at(size.error());
  if (size.value() != 0) {
    // Legacy suffix-less sizes are MiB.
    const std::string& s = *o.get("size");
    uint64_t bytes = size.value();
    if (!s.empty() && s.back() >= '0' && s.back() <= '9') {
      if (bytes > UINT64_MAX >> 20) return bare("Parameter 'memory.size' expects size");
      bytes <<= 20;
    }
    m.size = bytes;
  }
  if (o.has("maxmem")) {
    auto v = o.get_size("maxmem", 0);
    if (!v.ok()) return at(v.error());
    m.maxmem = v.value();
  }
  if (o.has("slots")) {
    auto v = o.get_number("slots", 0);
    if (!v.ok()) return at(v.error());
    m.slots = v.value();
  }
  cfg_.memory = m;
  return Status::Ok();
}

Status Parser::parse_smp(const std::string& arg) {
  auto kv = keyval_parse(arg, "cpus");
  if (!kv.ok()) return at(kv.error());
  if (kv->help) {
    help_now("smp", arg, kv.value());
    stop_ = true;
    return Status::Ok();
  }
  for (const auto& o : kv->opts) {
    std::optional<uint64_t>* slot = nullptr;
    SmpConfig& s = cfg_.smp;
    if (o.name == "cpus")
      slot = &s.cpus;
    else if (o.name == "sockets")
      slot = &s.sockets;
    else if (o.name == "dies")
      slot = &s.dies;
    else if (o.name == "clusters")
      slot = &s.clusters;
    else if (o.name == "cores")
      slot = &s.cores;
    else if (o.name == "threads")
      slot = &s.threads;
    else if (o.name == "maxcpus")
      slot = &s.maxcpus;
    else
      return bare("Parameter 'smp." + o.name + "' is unexpected");
    auto v = parse_uint64(o.value);
    if (!v) return bare("Parameter 'smp." + o.name + "' expects integer");
    *slot = *v;
  }
  return Status::Ok();
}

Status Parser::parse_display(const std::string& arg) {
  if (is_help_option(arg)) {
    help_now("display", arg, QemuOpts{});
    stop_ = true;
    return Status::Ok();
  }
  auto kv = keyval_parse(arg, "type");
  if (!kv.ok()) return at(kv.error());
  if (kv->help) return at("Help is not available for this option");
  const std::string* type = kv->get("type");
  if (!type) return at("Parameter 'type' is missing");
  if (*type != "none") return at("Parameter 'type' does not accept value '" + *type + "'");
  for (const auto& o : kv->opts) {
    if (o.name == "type") continue;
    if (o.name == "full-screen" || o.name == "window-close" || o.name == "show-cursor" ||
        o.name == "gl") {
      if (o.name != "gl" && !parse_bool(o.value)) {
        return at("Parameter '" + o.name + "' expects 'on' or 'off'");
      }
      continue;
    }
    return at("Parameter '" + o.name + "' is unexpected");
  }
  cfg_.display_none = true;
  return Status::Ok();
}

Status Parser::parse_vga(const std::string& arg) {
  cfg_.default_vga = false;
  if (is_help_option(arg)) {
    help_later("vga", arg, QemuOpts{});
    return Status::Ok();
  }
  if (arg == "none") {
    cfg_.vga = arg;
    return Status::Ok();
  }
  std::string_view type = std::string_view(arg).substr(0, arg.find(','));
  for (const auto& t : kVgaTypes) {
    if (type == t.opt) return at(std::string(t.name) + " not available");
  }
  return at("unknown vga type: " + arg);
}

Status Parser::handle(std::string_view name, const std::string& arg) {
  if (name == "h" || name == "help") {
    cfg_.action = CmdlineAction::ShowUsage;
    stop_ = true;
  } else if (name == "version") {
    cfg_.action = CmdlineAction::ShowVersion;
    stop_ = true;
  } else if (name == "machine" || name == "M") {
    QemuOpts kv;
    Status st = keyval_parse_into(kv, arg, "type");
    if (!st.ok()) return at(st.error());
    if (kv.help) {
      QemuOpts req = cfg_.machine_props;
      if (auto t = kv.get("type"))
        req.set("type", *t);
      else if (cfg_.machine_type)
        req.set("type", *cfg_.machine_type);
      help_now("machine", arg, std::move(req));
      stop_ = true;
      return Status::Ok();
    }
    for (auto& o : kv.opts) {
      if (o.name == "type") {
        cfg_.machine_type = o.value;
      } else if (o.name == "accel") {
        machine_accel_ = o.value;
      } else {
        st = keyval_set(cfg_.machine_props, o.name, o.value);
        if (!st.ok()) return at(st.error());
      }
    }
  } else if (name == "accel") {
    auto r = accels_.add(arg);
    if (!r.ok()) return at(r.error());
    QemuOpts o = accels_.all()[r.value()];
    warn(o.warnings);
    const std::string* accel = o.get("accel");
    if (!accel || is_help_option(*accel)) {
      help_now("accel", arg, o);
      stop_ = true;
      return Status::Ok();
    }
    AccelConfig a;
    a.name = *accel;
    o.remove("accel");
    o.warnings.clear();
    a.props = std::move(o);
    cfg_.accelerators.push_back(std::move(a));
  } else if (name == "enable-kvm") {
    enable_kvm_ = true;
    machine_accel_ = "kvm";
  } else if (name == "m") {
    return parse_memory(arg);
  } else if (name == "smp") {
    return parse_smp(arg);
  } else if (name == "cpu") {
    CpuConfig c;
    c.raw = arg;
    auto parts = split(arg, ',');
    c.model = parts[0];
    for (size_t i = 1; i < parts.size(); ++i) {
      if (!parts[i].empty()) c.features.push_back(parts[i]);
    }
    if (is_help_option(c.model)) help_later("cpu", arg, QemuOpts{});
    cfg_.cpu = std::move(c);
  } else if (name == "kernel") {
    cfg_.kernel = arg;
  } else if (name == "initrd") {
    cfg_.initrd = arg;
  } else if (name == "append") {
    cfg_.append = arg;
  } else if (name == "bios") {
    cfg_.firmware = arg;
  } else if (name == "L") {
    if (is_help_option(arg))
      help_later("L", arg, QemuOpts{});
    else
      cfg_.data_dirs.push_back(arg);
  } else if (name == "name") {
    auto r = name_.add(arg);
    if (!r.ok()) return at(r.error());
    cfg_.name_opts = name_.all()[r.value()];
    warn(cfg_.name_opts.warnings);
    cfg_.name_opts.warnings.clear();
    if (auto g = cfg_.name_opts.get("guest")) cfg_.name = *g;
  } else if (name == "nographic") {
    cfg_.nographic = true;
    cfg_.display_none = true;
    Status st = keyval_set(cfg_.machine_props, "graphics", "off");
    if (!st.ok()) return at(st.error());
  } else if (name == "display") {
    return parse_display(arg);
  } else if (name == "vga") {
    return parse_vga(arg);
  } else if (name == "nodefaults") {
    cfg_.nodefaults = true;
  } else if (name == "no-user-config") {
    cfg_.no_user_config = true;
  } else if (name == "S") {
    cfg_.start_paused = true;
  } else if (name == "no-reboot") {
    cfg_.no_reboot = true;
  } else if (name == "no-shutdown") {
    cfg_.no_shutdown = true;
  } else if (name == "daemonize") {
    cfg_.daemonize = true;
  } else if (name == "pidfile") {
    cfg_.pidfile = arg;
  } else if (name == "D") {
    cfg_.log_file = arg;
  } else if (name == "d") {
    auto items = split(arg, ',');
    for (const auto& i : items) {
      if (!valid_log_item(i)) {
        if (is_help_option(i)) {
          help_later("d", arg, QemuOpts{});
          return Status::Ok();
        }
        return generic_error(log_usage());
      }
    }
    cfg_.log_items = std::move(items);
  } else if (name == "trace") {
    auto r = trace_.add(arg);
    if (!r.ok()) return at(r.error());
    cfg_.trace.push_back(trace_.all()[r.value()]);
  } else if (name == "sandbox") {
    auto r = sandbox_.add(arg);
    if (!r.ok()) return at(r.error());
    if (sandbox_.all()[r.value()].help) {
      help_now("sandbox", arg, sandbox_.all()[r.value()]);
      stop_ = true;
      return Status::Ok();
    }
    cfg_.sandbox.assign(1, sandbox_.all()[r.value()]);
  } else if (name == "boot") {
    auto kv = keyval_parse(arg, "order");
    if (!kv.ok()) return at(kv.error());
    if (kv->help) {
      help_now("boot", arg, kv.value());
      stop_ = true;
      return Status::Ok();
    }
    for (const auto& o : kv->opts) {
      static const char* keys[] = {"order",       "once",           "menu",  "splash",
                                   "splash-time", "reboot-timeout", "strict"};
      bool known = false;
      for (auto k : keys) known = known || o.name == k;
      if (!known) return bare("Parameter 'boot." + o.name + "' is unexpected");
      Status st = keyval_set(cfg_.boot, o.name, o.value);
      if (!st.ok()) return at(st.error());
    }
  } else if (name == "rtc") {
    auto r = rtc_.add(arg, false);
    if (!r.ok()) return at(r.error());
    cfg_.rtc = rtc_.all()[r.value()];
  } else if (name == "serial") {
    cfg_.default_serial = false;
    if (arg.starts_with("mon:")) cfg_.default_monitor = false;
    if (arg == "none") return Status::Ok();
    std::string label = "serial" + std::to_string(serial_index_);
    auto opts = parse_chardev_compat(label, arg, true);
    if (!opts.ok()) {
      return at(opts.error().desc + "\ncould not connect serial device to character backend '" +
                arg + "'");
    }
    bool mux = opts->get_or("mux", "off") == "on";
    Status st = add_chardev(std::move(opts.value()));
    if (!st.ok()) return at(st.error());
    if (mux) cfg_.monitors.push_back(MonitorConfig{"", label, "readline", false});
    cfg_.serials.push_back(SerialConfig{label, arg});
    ++serial_index_;
  } else if (name == "debugcon") {
    // As QEMU: a chardev "debugcon" and an isa-debugcon (port 0xe9) with id "debugcon" on it.
    if (have_debugcon_) return at("already have a debugcon device");
    auto opts = parse_chardev_compat("debugcon", arg, true);
    if (!opts.ok()) return at("invalid character backend '" + std::string(arg) + "'");
    Status st = add_chardev(std::move(opts.value()));
    if (!st.ok()) return at(st.error());
    auto r = devices_.add("isa-debugcon,id=debugcon,chardev=debugcon");
    if (!r.ok()) return at(r.error());
    OptionSet set;
    set.opts = devices_.all()[r.value()];
    set.raw = "isa-debugcon,chardev=debugcon";
    cfg_.devices.push_back(std::move(set));
    have_debugcon_ = true;
  } else if (name == "monitor") {
    cfg_.default_monitor = false;
    if (arg.starts_with("none")) return Status::Ok();
    return monitor_parse(arg, "readline", false);
  } else if (name == "qmp") {
    cfg_.default_monitor = false;
    return monitor_parse(arg, "control", false);
  } else if (name == "qmp-pretty") {
    cfg_.default_monitor = false;
    return monitor_parse(arg, "control", true);
  } else if (name == "mon") {
    auto r = mons_.add(arg);
    if (!r.ok()) return at(r.error());
    warn(mons_.all()[r.value()].warnings);
    cfg_.default_monitor = false;
  } else if (name == "chardev") {
    auto r = chardevs_.add(arg);
    if (!r.ok()) return at(r.error());
    QemuOpts& o = chardevs_.all()[r.value()];
    warn(o.warnings);
    o.warnings.clear();
    if (o.help || is_help_option(o.get_or("backend", ""))) help_later("chardev", arg, o);
  } else if (name == "qtest") {
    cfg_.qtest = arg;
  } else if (name == "qtest-log") {
    cfg_.qtest_log = arg;
  } else if (name == "device") {
    OptionSet set;
    if (!arg.empty() && arg[0] == '{') {
      Status st = parse_json(arg, &set);
      if (!st.ok()) return st;
    } else {
      auto r = devices_.add(arg);
      if (!r.ok()) return at(r.error());
      set.opts = devices_.all()[r.value()];
      warn(set.opts.warnings);
      set.opts.warnings.clear();
      if (set.opts.help || is_help_option(set.opts.get_or("driver", ""))) {
        help_later("device", arg, set.opts);
      }
    }
    set.raw = arg;
    cfg_.devices.push_back(std::move(set));
  } else if (name == "drive") {
    auto r = drives_.add(arg, false);
    if (!r.ok()) return at(r.error());
    QemuOpts o = drives_.all()[r.value()];
    warn(o.warnings);
    o.warnings.clear();
    cfg_.drives.push_back(std::move(o));
    cfg_.drive_args.push_back(std::string(arg));
  } else if (name == "blockdev") {
    OptionSet set;
    if (!arg.empty() && arg[0] == '{') {
      Status st = parse_json(arg, &set);
      if (!st.ok()) return st;
    } else {
      auto kv = keyval_parse(arg, "driver");
      if (!kv.ok()) return at(kv.error());
      if (kv->help) return at("Help is not available for this option");
      if (!kv->has("driver")) return at("Parameter 'driver' is missing");
      set.opts = std::move(kv.value());
    }
    set.raw = arg;
    cfg_.blockdevs.push_back(std::move(set));
  } else if (name == "netdev") {
    cfg_.default_net = false;
    OptionSet set;
    if (!arg.empty() && arg[0] == '{') {
      Status st = parse_json(arg, &set);
      if (!st.ok()) return st;
    } else {
      auto r = netdevs_.add(arg);
      if (!r.ok()) return at(r.error());
      set.opts = netdevs_.all()[r.value()];
      warn(set.opts.warnings);
      set.opts.warnings.clear();
      if (set.opts.help || is_help_option(set.opts.get_or("type", ""))) {
        help_later("netdev", arg, set.opts);
      }
    }
    set.raw = arg;
    cfg_.netdevs.push_back(std::move(set));
  } else if (name == "object") {
    OptionSet set;
    if (!arg.empty() && arg[0] == '{') {
      Status st = parse_json(arg, &set);
      if (!st.ok()) return st;
    } else {
      auto r = objects_.add(arg);
      if (!r.ok()) return at(r.error());
      set.opts = objects_.all()[r.value()];
      warn(set.opts.warnings);
      set.opts.warnings.clear();
      const std::string* type = set.opts.get("qom-type");
      if (!type) return at("Parameter 'qom-type' is missing");
      if (is_help_option(*type) || set.opts.help) {
        help_now("object", arg, set.opts);
        stop_ = true;
        return Status::Ok();
      }
      if (set.opts.id.empty()) return at("Parameter 'id' is missing");
    }
    set.raw = arg;
    cfg_.objects.push_back(std::move(set));
  } else if (name == "global") {
    // DRIVER.PROP=VALUE (driver up to 63 chars without '.'/'=', prop up to 63 without '=').
    size_t dot = arg.find_first_of(".=");
    if (dot != std::string::npos && dot > 0 && dot <= 63 && arg[dot] == '.') {
      size_t eq = arg.find('=', dot + 1);
      if (eq != std::string::npos && eq > dot + 1 && eq - dot - 1 <= 63) {
        cfg_.globals.push_back(GlobalConfig{arg.substr(0, dot), arg.substr(dot + 1, eq - dot - 1),
                                            arg.substr(eq + 1)});
        return Status::Ok();
      }
    }
    auto r = globals_.add(arg, false);
    if (!r.ok()) return at(r.error());
    const QemuOpts& o = globals_.all()[r.value()];
    if (!o.has("driver") || !o.has("property") || !o.has("value")) {
      return at("options 'driver', 'property', and 'value' are required");
    }
    cfg_.globals.push_back(GlobalConfig{*o.get("driver"), *o.get("property"), *o.get("value")});
  }
  return Status::Ok();
}

Result<MachinaConfig> Parser::run() {
  for (size_t i = 0; i < args_.size() && !stop_;) {
    const std::string& word = args_[i];
    if (word.empty() || word[0] != '-') {
      // A disk image: -drive file=WORD,index=0,media=disk.
      loc_ = word;
      QemuOpts d;
      d.set("media", "disk");
      d.set("index", "0");
      d.set("file", word);
      auto r = drives_.add(std::move(d));
      if (!r.ok()) return at(r.error());
      cfg_.drives.push_back(drives_.all()[r.value()]);
      cfg_.drive_args.push_back(word);
      ++i;
      continue;
    }
    loc_ = word;
    std::string_view name =
        std::string_view(word).substr(word.size() > 1 && word[1] == '-' ? 2 : 1);
    const OptionInfo* opt = find_option(name);
    if (!opt) return at("invalid option");
    std::string arg;
    if (opt->has_arg) {
      if (i + 1 >= args_.size()) return at("requires an argument");
      arg = args_[i + 1];
      loc_ = word + " " + arg;
      i += 2;
    } else {
      i += 1;
    }
    Status st = handle(opt->name, arg);
    if (!st.ok()) return st.error();
  }
  loc_.clear();
  if (stop_) return std::move(cfg_);

  // Checks QEMU makes after the option loop (without a command-line location).
  if (!cfg_.kernel) {
    if (cfg_.append) return bare("-append only allowed with -kernel option");
    if (cfg_.initrd) return bare("-initrd only allowed with -kernel option");
  }
  if (machine_accel_) {
    if (!cfg_.accelerators.empty()) {
      return bare("The -accel and \"-machine accel=\" options are incompatible");
    }
    for (auto& n : split(*machine_accel_, ':')) {
      AccelConfig a;
      a.name = n;
      cfg_.accelerators.push_back(std::move(a));
    }
  }
  (void)enable_kvm_;
  for (const auto& c : chardevs_.all()) cfg_.chardevs.push_back(c);
  for (const auto& m : mons_.all()) {
    MonitorConfig mc;
    mc.id = m.id;
    mc.chardev = m.get_or("chardev", "");
    mc.mode = m.get_or("mode", "readline");
    auto pretty = m.get_bool("pretty", false);
    mc.pretty = pretty.ok() && pretty.value();
    cfg_.monitors.push_back(std::move(mc));
  }
  return std::move(cfg_);
}

}  // namespace

const OptsListSpec& device_opts_spec() {
  static const OptsListSpec spec = any_list("device", "driver");
  return spec;
}

Result<MachinaConfig> parse_cmdline(const std::vector<std::string>& args, std::string_view prog) {
  Parser p(args, prog);
  return p.run();
}

}  // namespace machina
