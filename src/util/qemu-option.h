// QEMU option strings ("key=val,key=val"), parsed the way QEMU 7.2 does it.
//
// Two grammars exist in QEMU and both are provided here:
//  * QemuOpts (util/qemu-option.c): used by -device, -drive, -chardev, -netdev, -mon, -accel,
//    -m, -name, -global, -rtc, -sandbox... An optional implied first key ("virtio-blk-pci" means
//    driver=virtio-blk-pci), ",," for a literal comma in a value, a bare "key" meaning key=on and
//    "nokey" meaning key=off (deprecated short form: a warning is recorded), "id=" handled
//    separately (validated, checked for duplicates within the option group).
//  * keyval (util/keyval.c): used by -machine/-M, -smp, -boot, -display, -object, -blockdev.
//    Keys are QAPI names with dotted sub-keys ("file.filename"); a key without "=" is an error
//    unless it is the implied first key or "help"/"?"; repeating a key replaces its value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "qapi/error.h"

namespace machina {

// One "name=value" of an option string.
struct QemuOpt {
  std::string name;
  std::string value;
  bool operator==(const QemuOpt&) const = default;
};

// A parsed option string. Keeps the order written and duplicate keys; lookups return the last
// occurrence, as QEMU's qemu_opt_get does.
struct QemuOpts {
  std::string id;                     // value of "id=" (empty when absent); not repeated in `opts`
  std::vector<QemuOpt> opts;          // every other key, in order
  bool help = false;                  // "help" or "?" was given (the caller prints help and stops)
  std::vector<std::string> warnings;  // deprecation warnings, ready to print after "PROG: "

  const std::string* get(std::string_view name) const;  // last value, or nullptr
  std::string get_or(std::string_view name, std::string_view def) const;
  bool has(std::string_view name) const { return get(name) != nullptr; }
  size_t count(std::string_view name) const;
  void set(std::string_view name, std::string_view value);  // appends
  void remove(std::string_view name);                       // every occurrence

  // Typed getters with QEMU's error texts ("Parameter 'x' expects 'on' or 'off'", ...).
  Result<bool> get_bool(std::string_view name, bool def) const;
  Result<uint64_t> get_number(std::string_view name, uint64_t def) const;
  Result<uint64_t> get_size(std::string_view name, uint64_t def) const;

  // Back to "name=value,..." form (commas doubled), with "id=" after the first key if set.
  std::string to_string() const;
};

enum class OptType { String, Bool, Number, Size };

struct OptDesc {
  std::string name;
  OptType type = OptType::String;
};

// Description of a QemuOpts group (QEMU's QemuOptsList).
struct OptsListSpec {
  std::string name;           // as used in "Duplicate ID 'x' for NAME"
  std::string implied_key;    // name of the implied first key, "" for none
  bool merge_lists = false;   // repeated options merge into one set (e.g. -m, -name, -rtc)
  std::vector<OptDesc> desc;  // accepted keys; empty accepts any key (validated later)
};

// True for "help" and "?".
bool is_help_option(std::string_view s);
// QEMU's id_wellformed: a letter, then letters, digits, '-', '.', '_'.
bool id_wellformed(std::string_view id);

// Validates a value against a type, with QEMU's error texts.
Status validate_opt_value(const std::string& name, const std::string& value, OptType type);

// Parses PARAMS as QEMU's qemu_opts_parse_noisily does (the implied key is used when
// `permit_abbrev` is set and the list has one). Does not check duplicate ids: see
// QemuOptsGroup. When list.desc is not empty, "help"/"?" as a bare key sets `help` and stops.
Result<QemuOpts> qemu_opts_parse(const OptsListSpec& list, std::string_view params,
                                 bool permit_abbrev = true);

// Parses more options into OPTS (QEMU's qemu_opts_do_parse): no id handling, no warnings.
Status qemu_opts_do_parse(QemuOpts& opts, const OptsListSpec& list, std::string_view params,
                          std::string_view implied_key = {});

// Every QemuOpts parsed for one group, in order; refuses duplicate ids
// ("Duplicate ID 'x' for chardev") unless the group merges.
class QemuOptsGroup {
 public:
  explicit QemuOptsGroup(OptsListSpec spec) : spec_(std::move(spec)) {}
  const OptsListSpec& spec() const { return spec_; }
  // Parses and stores; returns the index of the stored (or merged-into) set.
  Result<size_t> add(std::string_view params, bool permit_abbrev = true);
  // Stores OPTS created by code (e.g. -serial shorthands), checking the id.
  Result<size_t> add(QemuOpts opts);
  const QemuOpts* find(std::string_view id) const;
  const std::vector<QemuOpts>& all() const { return entries_; }
  std::vector<QemuOpts>& all() { return entries_; }

 private:
  OptsListSpec spec_;
  std::vector<QemuOpts> entries_;
};

// Parses PARAMS with QEMU's keyval grammar. Keys keep their dots ("file.filename"); "id" is an
// ordinary key here. A repeated key replaces the earlier value in place. `help` is set for a
// bare "help"/"?". Errors as QEMU: "Invalid parameter 'x'", "Expected '=' after parameter 'x'",
// "Parameters 'x.*' used inconsistently", "Parameter 'x' is too long".
Result<QemuOpts> keyval_parse(std::string_view params, std::string_view implied_key = {});
// Same, merging into DST (QEMU's keyval_parse_into for -machine given several times).
Status keyval_parse_into(QemuOpts& dst, std::string_view params, std::string_view implied_key = {});
// Sets one keyval key (replacing an earlier value), checking "used inconsistently".
Status keyval_set(QemuOpts& dst, std::string_view key, std::string_view value);

}  // namespace machina
