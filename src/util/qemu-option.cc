#include "util/qemu-option.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "util/cutils.h"

namespace machina {

namespace {

Error param_expects(std::string_view name, std::string_view what) {
  return generic_error("Parameter '" + std::string(name) + "' expects " + std::string(what));
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Looks like a size whose only problem can be its magnitude: digits, optional fraction,
// optional unit suffix.
bool size_shaped(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0) return false;
  if (i < s.size() && s[i] == '.') {
    size_t j = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == j) return false;
  }
  if (i < s.size() && std::string_view("bBkKmMgGtTpPeE").find(s[i]) != std::string_view::npos) ++i;
  return i == s.size();
}

Result<uint64_t> parse_number_value(std::string_view name, std::string_view value) {
  if (auto v = parse_uint64(value)) return *v;
  if (all_digits(value)) {
    return generic_error("Value '" + std::string(value) + "' is too large for parameter '" +
                         std::string(name) + "'");
  }
  return param_expects(name, "a number");
}

Result<uint64_t> parse_size_value(std::string_view name, std::string_view value) {
  if (auto v = parse_size(value)) return *v;
  if (size_shaped(value)) {
    return generic_error("Value '" + std::string(value) + "' is out of range for parameter '" +
                         std::string(name) + "'");
  }
  Error e = param_expects(name, "a non-negative number below 2^64");
  e.desc +=
      "\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
      "and exabytes, respectively.";
  return e;
}

// QemuOpts value: up to a single ',' with ",," meaning a literal comma. Returns the position of
// the terminating ',' (or the end).
size_t read_opt_value(std::string_view p, size_t pos, std::string* out) {
  out->clear();
  while (pos < p.size()) {
    if (p[pos] == ',') {
      if (pos + 1 < p.size() && p[pos + 1] == ',') {
        out->push_back(',');
        pos += 2;
        continue;
      }
      break;
    }
    out->push_back(p[pos++]);
  }
  return pos;
}

struct NameValue {
  std::string name;
  std::string value;
  bool is_help = false;
};

// One "name=value", "value" (implied first key) or "flag" / "noflag" element of a QemuOpts
// string, starting at POS. Returns the position after the element and its ','.
size_t get_opt_name_value(std::string_view p, size_t pos, std::string_view firstname,
                          std::vector<std::string>* warnings, NameValue* out) {
  size_t end = p.find_first_of("=,", pos);
  if (end == std::string_view::npos) end = p.size();
  out->is_help = false;
  if (end == p.size() || p[end] != '=') {
    if (!firstname.empty()) {
      out->name = std::string(firstname);
      pos = read_opt_value(p, pos, &out->value);
    } else {
      out->name = std::string(p.substr(pos, end - pos));
      pos = end;
      std::string prefix;
      if (out->name.starts_with("no")) {
        out->name.erase(0, 2);
        out->value = "off";
        prefix = "no";
      } else {
        out->value = "on";
        out->is_help = is_help_option(out->name);
      }
      if (!out->is_help && warnings) {
        std::string w = "short-form boolean option '" + prefix + out->name + "' deprecated\n";
        if (out->name == "delay") {
          w += std::string("Please use nodelay=") + (prefix.empty() ? "off" : "on") + " instead";
        } else {
          w += "Please use " + out->name + "=" + out->value + " instead";
        }
        warnings->push_back(std::move(w));
      }
    }
  } else {
    out->name = std::string(p.substr(pos, end - pos));
    pos = read_opt_value(p, end + 1, &out->value);
  }
  if (pos < p.size() && p[pos] == ',') ++pos;
  return pos;
}

// QEMU's opts_parse_id: the first "id=" element.
std::optional<std::string> find_id(std::string_view params) {
  NameValue nv;
  for (size_t pos = 0; pos < params.size();) {
    pos = get_opt_name_value(params, pos, {}, nullptr, &nv);
    if (nv.name == "id") return nv.value;
  }
  return std::nullopt;
}

const OptDesc* find_desc(const OptsListSpec& list, std::string_view name) {
  for (const auto& d : list.desc) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

// Parses elements into OPTS. `help_wanted` is null when help is not detected.
Status do_parse(QemuOpts& opts, const OptsListSpec& list, std::string_view params,
                std::string_view firstname, std::vector<std::string>* warnings, bool* help_wanted) {
  NameValue nv;
  for (size_t pos = 0; pos < params.size();) {
    pos = get_opt_name_value(params, pos, firstname, warnings, &nv);
    firstname = {};
    if (help_wanted && nv.is_help) {
      *help_wanted = true;
      return Status::Ok();
    }
    if (nv.name == "id") continue;
    if (!list.desc.empty()) {
      const OptDesc* d = find_desc(list, nv.name);
      if (!d) return generic_error("Invalid parameter '" + nv.name + "'");
      Status st = validate_opt_value(nv.name, nv.value, d->type);
      if (!st.ok()) return st;
    }
    opts.opts.push_back(QemuOpt{std::move(nv.name), std::move(nv.value)});
  }
  return Status::Ok();
}

Error invalid_id() {
  Error e = param_expects("id", "an identifier");
  e.desc += "\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter.";
  return e;
}

bool is_qapi_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// Checks a keyval key ("a.b.0"): the first fragment is a QAPI name, later ones a QAPI name or
// an index.
Status check_keyval_key(std::string_view key) {
  std::vector<std::string_view> frags;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    frags.push_back(key.substr(start, dot == std::string_view::npos ? key.npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  for (size_t i = 0; i < frags.size(); ++i) {
    std::string_view f = frags[i];
    bool ok = !f.empty();
    if (ok) {
      if (i > 0 && all_digits(f)) {
        ok = true;
      } else {
        ok = std::isalpha(static_cast<unsigned char>(f[0])) &&
             std::all_of(f.begin(), f.end(), is_qapi_name_char);
      }
    }
    if (!ok) return generic_error("Invalid parameter '" + std::string(key) + "'");
    if (f.size() >= 128) {
      return generic_error(std::string("Parameter") + (frags.size() > 1 ? " fragment" : "") + " '" +
                           std::string(f) + "' is too long");
    }
  }
  return Status::Ok();
}

Status keyval_put(QemuOpts& dst, std::string key, std::string value) {
  for (auto& o : dst.opts) {
    if (o.name == key) {
      o.value = std::move(value);
      return Status::Ok();
    }
    // "a" set as a value and now "a.b", or the other way round.
    const std::string& shorter = o.name.size() < key.size() ? o.name : key;
    const std::string& longer = o.name.size() < key.size() ? key : o.name;
    if (longer.size() > shorter.size() && longer.starts_with(shorter) &&
        longer[shorter.size()] == '.') {
      return generic_error("Parameters '" + shorter + ".*' used inconsistently");
    }
  }
  dst.opts.push_back(QemuOpt{std::move(key), std::move(value)});
  return Status::Ok();
}

}  // namespace

bool is_help_option(std::string_view s) {
  return s == "help" || s == "?";
}

bool id_wellformed(std::string_view id) {
  if (id.empty() || !std::isalpha(static_cast<unsigned char>(id[0]))) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

Status validate_opt_value(const std::string& name, const std::string& value, OptType type) {
  switch (type) {
    case OptType::String:
      return Status::Ok();
    case OptType::Bool:
      if (!parse_bool(value)) return param_expects(name, "'on' or 'off'");
      return Status::Ok();
    case OptType::Number:
      return parse_number_value(name, value).status();
    case OptType::Size:
      return parse_size_value(name, value).status();
  }
  return Status::Ok();
}

const std::string* QemuOpts::get(std::string_view name) const {
  for (auto it = opts.rbegin(); it != opts.rend(); ++it) {
    if (it->name == name) return &it->value;
  }
  return nullptr;
}

std::string QemuOpts::get_or(std::string_view name, std::string_view def) const {
  const std::string* v = get(name);
  return v ? *v : std::string(def);
}

size_t QemuOpts::count(std::string_view name) const {
  return std::count_if(opts.begin(), opts.end(), [&](const QemuOpt& o) { return o.name == name; });
}

void QemuOpts::set(std::string_view name, std::string_view value) {
  opts.push_back(QemuOpt{std::string(name), std::string(value)});
}

void QemuOpts::remove(std::string_view name) {
  std::erase_if(opts, [&](const QemuOpt& o) { return o.name == name; });
}

Result<bool> QemuOpts::get_bool(std::string_view name, bool def) const {
  const std::string* v = get(name);
  if (!v) return def;
  if (auto b = parse_bool(*v)) return *b;
  return param_expects(name, "'on' or 'off'");
}

Result<uint64_t> QemuOpts::get_number(std::string_view name, uint64_t def) const {
  const std::string* v = get(name);
  if (!v) return def;
  return parse_number_value(name, *v);
}

Result<uint64_t> QemuOpts::get_size(std::string_view name, uint64_t def) const {
  const std::string* v = get(name);
  if (!v) return def;
  return parse_size_value(name, *v);
}

std::string QemuOpts::to_string() const {
  std::string out;
  auto append = [&out](std::string_view name, std::string_view value) {
    if (!out.empty()) out += ',';
    out += name;
    out += '=';
    for (char c : value) {
      out += c;
      if (c == ',') out += ',';
    }
  };
  bool id_done = id.empty();
  for (const auto& o : opts) {
    append(o.name, o.value);
    if (!id_done) {
      append("id", id);
      id_done = true;
    }
  }
  if (!id_done) append("id", id);
  return out;
}

Result<QemuOpts> qemu_opts_parse(const OptsListSpec& list, std::string_view params,
                                 bool permit_abbrev) {
  QemuOpts opts;
  if (auto id = find_id(params)) {
    if (!id_wellformed(*id)) return invalid_id();
    opts.id = *id;
  }
  std::string_view firstname = permit_abbrev ? std::string_view(list.implied_key) : "";
  bool help = false;
  // Lists that accept any key take "help" as an ordinary flag (help=on); callers check it.
  Status st =
      do_parse(opts, list, params, firstname, &opts.warnings, list.desc.empty() ? nullptr : &help);
  if (!st.ok()) return st.error();
  if (help) {
    opts.help = true;
    return opts;
  }
  for (const auto& o : opts.opts) {
    if (is_help_option(o.name)) opts.help = true;
  }
  return opts;
}

Status qemu_opts_do_parse(QemuOpts& opts, const OptsListSpec& list, std::string_view params,
                          std::string_view implied_key) {
  return do_parse(opts, list, params, implied_key, nullptr, nullptr);
}

Result<size_t> QemuOptsGroup::add(std::string_view params, bool permit_abbrev) {
  auto parsed = qemu_opts_parse(spec_, params, permit_abbrev);
  if (!parsed.ok()) return parsed.error();
  return add(std::move(parsed.value()));
}

Result<size_t> QemuOptsGroup::add(QemuOpts opts) {
  if (!opts.id.empty() && !id_wellformed(opts.id)) return invalid_id();
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].id != opts.id) continue;
    if (opts.id.empty() && !spec_.merge_lists) continue;
    if (!spec_.merge_lists) {
      return generic_error("Duplicate ID '" + opts.id + "' for " + spec_.name);
    }
    QemuOpts& into = entries_[i];
    for (auto& o : opts.opts) into.opts.push_back(std::move(o));
    for (auto& w : opts.warnings) into.warnings.push_back(std::move(w));
    into.help = into.help || opts.help;
    return i;
  }
  entries_.push_back(std::move(opts));
  return entries_.size() - 1;
}

const QemuOpts* QemuOptsGroup::find(std::string_view id) const {
  for (const auto& e : entries_) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

Status keyval_parse_into(QemuOpts& dst, std::string_view params, std::string_view implied_key) {
  size_t pos = 0;
  while (pos < params.size()) {
    size_t end = params.find_first_of("=,", pos);
    if (end == std::string_view::npos) end = params.size();
    size_t len = end - pos;
    if (len && (end == params.size() || params[end] != '=')) {
      std::string_view word = params.substr(pos, len);
      if (is_help_option(word)) {
        dst.help = true;
        pos = end < params.size() ? end + 1 : end;
        implied_key = {};
        continue;
      }
      if (!implied_key.empty()) {
        // The implied value ends at the first ',' (no ",," escape here, as in QEMU).
        Status st = keyval_put(dst, std::string(implied_key), std::string(word));
        if (!st.ok()) return st;
        pos = end < params.size() ? end + 1 : end;
        implied_key = {};
        continue;
      }
    }
    implied_key = {};
    std::string key(params.substr(pos, len));
    Status st = check_keyval_key(key);
    if (!st.ok()) return st;
    if (end == params.size() || params[end] != '=') {
      return generic_error("Expected '=' after parameter '" + key + "'");
    }
    std::string value;
    pos = read_opt_value(params, end + 1, &value);
    if (pos < params.size()) ++pos;  // the ','
    st = keyval_put(dst, std::move(key), std::move(value));
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Status keyval_set(QemuOpts& dst, std::string_view key, std::string_view value) {
  return keyval_put(dst, std::string(key), std::string(value));
}

Result<QemuOpts> keyval_parse(std::string_view params, std::string_view implied_key) {
  QemuOpts out;
  Status st = keyval_parse_into(out, params, implied_key);
  if (!st.ok()) return st.error();
  return out;
}

}  // namespace machina
