// AML encoding (ACPI 6.x chapter 20) and ACPI table framing. See aml-build.h.
#include "hw/acpi/aml-build.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace machina {

namespace {

using aml::Aml;

[[noreturn]] void aml_bug(const char* what, std::string_view detail) {
  std::fprintf(stderr, "machina: AML builder: %s: '%.*s'\n", what, int(detail.size()),
               detail.data());
  std::abort();
}

// Opcodes (ACPI 20.3).
enum : uint8_t {
  kZeroOp = 0x00,
  kOneOp = 0x01,
  kNameOp = 0x08,
  kBytePrefix = 0x0a,
  kWordPrefix = 0x0b,
  kDWordPrefix = 0x0c,
  kStringPrefix = 0x0d,
  kQWordPrefix = 0x0e,
  kScopeOp = 0x10,
  kBufferOp = 0x11,
  kPackageOp = 0x12,
  kVarPackageOp = 0x13,
  kMethodOp = 0x14,
  kDualNamePrefix = 0x2e,
  kMultiNamePrefix = 0x2f,
  kExtOpPrefix = 0x5b,
  kRootChar = 0x5c,
  kParentPrefix = 0x5e,
  kLocal0Op = 0x60,
  kArg0Op = 0x68,
  kStoreOp = 0x70,
  kAddOp = 0x72,
  kSubtractOp = 0x74,
  kIncrementOp = 0x75,
  kDecrementOp = 0x76,
  kShiftLeftOp = 0x79,
  kShiftRightOp = 0x7a,
  kAndOp = 0x7b,
  kOrOp = 0x7d,
  kDerefOfOp = 0x83,
  kNotifyOp = 0x86,
  kSizeOfOp = 0x87,
  kIndexOp = 0x88,
  kCreateDWordFieldOp = 0x8a,
  kCreateQWordFieldOp = 0x8f,
  kLAndOp = 0x90,
  kLOrOp = 0x91,
  kLNotOp = 0x92,
  kLEqualOp = 0x93,
  kLGreaterOp = 0x94,
  kLLessOp = 0x95,
  kIfOp = 0xa0,
  kElseOp = 0xa1,
  kWhileOp = 0xa2,
  kReturnOp = 0xa4,
  kOnesOp = 0xff,
  // after kExtOpPrefix
  kMutexOp = 0x01,
  kAcquireOp = 0x23,
  kReleaseOp = 0x27,
  kDebugOp = 0x31,
  kOpRegionOp = 0x80,
  kFieldOp = 0x81,
  kDeviceOp = 0x82,
};

// Resource descriptor tags (ACPI 6.4).
enum : uint8_t {
  kResIrqNoFlags = 0x22,  // small item 0x04, length 2
  kResIo = 0x47,          // small item 0x08, length 7
  kResEndTag = 0x79,      // small item 0x0f, length 1
  kResMemory32Fixed = 0x86,
  kResDWordAddress = 0x87,
  kResWordAddress = 0x88,
  kResExtendedIrq = 0x89,
  kResQWordAddress = 0x8a,
};

enum : uint8_t { kAddrSpaceMemory = 0, kAddrSpaceIo = 1, kAddrSpaceBus = 2 };

bool lead_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || c == '_';
}
bool name_char(char c) {
  return lead_name_char(c) || (c >= '0' && c <= '9');
}

void append_seg(AmlBytes& out, std::string_view seg, std::string_view path) {
  if (seg.empty() || seg.size() > 4 || !lead_name_char(seg[0])) aml_bug("bad name", path);
  for (size_t i = 0; i < 4; ++i) {
    char c = i < seg.size() ? seg[i] : '_';
    if (!name_char(c)) aml_bug("bad name", path);
    out.push_back(uint8_t(c));
  }
}

AmlBytes bytes_of(const Aml& a) {
  return a.encode();
}

Aml op1(uint8_t op, const Aml& a) {
  AmlBytes b{op};
  a.encode_to(b);
  return Aml::raw(std::move(b));
}

Aml op2(uint8_t op, const Aml& a, const Aml& c) {
  AmlBytes b{op};
  a.encode_to(b);
  c.encode_to(b);
  return Aml::raw(std::move(b));
}

// Operator with a Target operand: an empty target encodes as NullName.
Aml op_target(uint8_t op, const Aml& a, const Aml& c, const Aml& target) {
  AmlBytes b{op};
  a.encode_to(b);
  c.encode_to(b);
  AmlBytes t = target.encode();
  if (t.empty()) t.push_back(0x00);
  b.insert(b.end(), t.begin(), t.end());
  return Aml::raw(std::move(b));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

uint8_t addr_general_flags(aml::ResUsage usage) {
  // MaxFixed (bit 3), MinFixed (bit 2), PosDecode (bit 1 clear), consumer/producer in bit 0.
  return uint8_t(0x0c | uint8_t(usage));
}

aml::Aml address_space(uint8_t tag, int width, uint8_t type, uint8_t gflags, uint8_t tflags,
                       uint64_t min, uint64_t max, uint64_t translation) {
  if (max < min) aml_bug("address range max < min", "");
  AmlBytes b{tag};
  append_le(b, uint64_t(3 + 5 * width), 2);  // length of the rest
  b.push_back(type);
  b.push_back(gflags);
  b.push_back(tflags);
  append_le(b, 0, width);  // granularity
  append_le(b, min, width);
  append_le(b, max, width);
  append_le(b, translation, width);
  append_le(b, max - min + 1, width);
  return aml::Aml::raw(std::move(b));
}

}  // namespace

void append_le(AmlBytes& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(uint8_t(value >> (8 * i)));
}

void put_le(AmlBytes& out, size_t offset, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.at(offset + i) = uint8_t(value >> (8 * i));
}

uint64_t get_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

namespace aml {

namespace {

// PkgLength: bits 7:6 of the lead byte give the count of following bytes; with none, bits 5:0
// hold the value; else bits 3:0 hold its low nibble and each following byte 8 more bits.
void append_pkg_length_value(AmlBytes& out, size_t value, int nbytes) {
  if (nbytes == 1) {
    out.push_back(uint8_t(value));
    return;
  }
  out.push_back(uint8_t(((nbytes - 1) << 6) | (value & 0x0f)));
  value >>= 4;
  for (int i = 1; i < nbytes; ++i) {
    out.push_back(uint8_t(value));
    value >>= 8;
  }
}

int pkg_length_bytes_for_value(size_t value) {
  if (value < 0x40) return 1;
  if (value < (size_t{1} << 12)) return 2;
  if (value < (size_t{1} << 20)) return 3;
  if (value < (size_t{1} << 28)) return 4;
  aml_bug("PkgLength too large", "");
}

}  // namespace

AmlBytes pkg_length(size_t body_len) {
  AmlBytes out;
  for (int n = 1; n <= 4; ++n) {
    if (pkg_length_bytes_for_value(body_len + n) <= n) {
      append_pkg_length_value(out, body_len + n, n);
      return out;
    }
  }
  aml_bug("PkgLength too large", "");
}

AmlBytes pkg_length_value(size_t value) {
  AmlBytes out;
  append_pkg_length_value(out, value, pkg_length_bytes_for_value(value));
  return out;
}

AmlBytes name_string(std::string_view path) {
  AmlBytes out;
  std::string_view p = path;
  if (!p.empty() && p[0] == '\\') {
    out.push_back(kRootChar);
    p.remove_prefix(1);
  } else {
    while (!p.empty() && p[0] == '^') {
      out.push_back(kParentPrefix);
      p.remove_prefix(1);
    }
  }
  if (p.empty()) {
    out.push_back(0x00);  // NullName
    return out;
  }
  std::vector<std::string_view> segs;
  while (true) {
    size_t dot = p.find('.');
    segs.push_back(p.substr(0, dot));
    if (dot == std::string_view::npos) break;
    p.remove_prefix(dot + 1);
  }
  if (segs.size() > 255) aml_bug("name too long", path);
  if (segs.size() == 2) {
    out.push_back(kDualNamePrefix);
  } else if (segs.size() > 2) {
    out.push_back(kMultiNamePrefix);
    out.push_back(uint8_t(segs.size()));
  }
  for (std::string_view s : segs) append_seg(out, s, path);
  return out;
}

Aml Aml::raw(AmlBytes bytes) {
  Aml a;
  a.kind_ = Kind::Raw;
  a.head_ = std::move(bytes);
  return a;
}

Aml Aml::block(AmlBytes opcode, AmlBytes fixed, Kind kind) {
  Aml a;
  a.kind_ = kind;
  a.head_ = std::move(opcode);
  a.fixed_ = std::move(fixed);
  return a;
}

Aml& Aml::add(Aml child) {
  if (kind_ == Kind::Raw) aml_bug("add() on a term that is not a block", "");
  children_.push_back(std::move(child));
  return *this;
}

AmlBytes Aml::encode() const {
  AmlBytes out;
  encode_to(out);
  return out;
}

void Aml::encode_to(AmlBytes& out) const {
  if (kind_ == Kind::Raw) {
    out.insert(out.end(), head_.begin(), head_.end());
    return;
  }
  AmlBytes body;
  switch (kind_) {
    case Kind::Block:
      body = fixed_;
      for (const Aml& c : children_) c.encode_to(body);
      out.insert(out.end(), head_.begin(), head_.end());
      break;
    case Kind::Package:
      if (children_.size() <= 255) {
        out.push_back(kPackageOp);
        body.push_back(uint8_t(children_.size()));
      } else {
        out.push_back(kVarPackageOp);
        integer(children_.size()).encode_to(body);
      }
      for (const Aml& c : children_) c.encode_to(body);
      break;
    case Kind::Buffer:
    case Kind::ResourceTemplate: {
      AmlBytes data = fixed_;
      for (const Aml& c : children_) c.encode_to(data);
      if (kind_ == Kind::ResourceTemplate) {
        data.push_back(kResEndTag);
        data.push_back(0);  // checksum 0: "treated as if the checksum operation succeeded"
      }
      integer(data.size()).encode_to(body);
      body.insert(body.end(), data.begin(), data.end());
      out.push_back(kBufferOp);
      break;
    }
    case Kind::Raw:
      break;
  }
  AmlBytes len = pkg_length(body.size());
  out.insert(out.end(), len.begin(), len.end());
  out.insert(out.end(), body.begin(), body.end());
}

// --- data objects

Aml integer(uint64_t v) {
  AmlBytes b;
  if (v == 0) {
    b.push_back(kZeroOp);
  } else if (v == 1) {
    b.push_back(kOneOp);
  } else if (v <= 0xff) {
    b.push_back(kBytePrefix);
    append_le(b, v, 1);
  } else if (v <= 0xffff) {
    b.push_back(kWordPrefix);
    append_le(b, v, 2);
  } else if (v <= 0xffffffff) {
    b.push_back(kDWordPrefix);
    append_le(b, v, 4);
  } else {
    b.push_back(kQWordPrefix);
    append_le(b, v, 8);
  }
  return Aml::raw(std::move(b));
}

Aml zero() {
  return Aml::raw({kZeroOp});
}
Aml one() {
  return Aml::raw({kOneOp});
}
Aml ones() {
  return Aml::raw({kOnesOp});
}

Aml string(std::string_view s) {
  AmlBytes b{kStringPrefix};
  for (char c : s) {
    if (c <= 0 || uint8_t(c) > 0x7f) aml_bug("string must be ASCII without NUL", s);
    b.push_back(uint8_t(c));
  }
  b.push_back(0);
  return Aml::raw(std::move(b));
}

Aml buffer(const AmlBytes& data) {
  return Aml::block({}, data, Aml::Kind::Buffer);
}

Aml package() {
  return Aml::block({}, {}, Aml::Kind::Package);
}

Aml eisa_id(std::string_view id) {
  if (id.size() != 7) aml_bug("bad EISA id", id);
  uint32_t v = 0;
  for (int i = 0; i < 3; ++i) {
    char c = id[i];
    if (c < 'A' || c > 'Z') aml_bug("bad EISA id", id);
    v = (v << 5) | uint32_t(c - 'A' + 1);
  }
  for (int i = 3; i < 7; ++i) {
    int d = hex_digit(id[i]);
    if (d < 0 || (id[i] >= 'a' && id[i] <= 'f')) aml_bug("bad EISA id", id);
    v = (v << 4) | uint32_t(d);
  }
  // The 32-bit id is stored most significant byte first.
  uint32_t stored = __builtin_bswap32(v);
  AmlBytes b{kDWordPrefix};
  append_le(b, stored, 4);
  return Aml::raw(std::move(b));
}

Aml uuid(std::string_view text) {
  // aabbccdd-eeff-gghh-iijj-kkllmmnnoopp: the first three groups little-endian, the rest in order.
  static constexpr int kOrder[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    aml_bug("bad UUID", text);
  }
  uint8_t raw[16];
  int n = 0;
  for (size_t i = 0; i < text.size(); i += 2) {
    if (text[i] == '-') ++i;
    int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
    if (hi < 0 || lo < 0) aml_bug("bad UUID", text);
    raw[n++] = uint8_t(hi << 4 | lo);
  }
  AmlBytes data;
  for (int i = 0; i < 16; ++i) data.push_back(raw[kOrder[i]]);
  return buffer(data);
}

// --- references

Aml name(std::string_view path) {
  return Aml::raw(name_string(path));
}

Aml local(int n) {
  if (n < 0 || n > 7) aml_bug("bad Local", std::to_string(n));
  return Aml::raw({uint8_t(kLocal0Op + n)});
}

Aml arg(int n) {
  if (n < 0 || n > 6) aml_bug("bad Arg", std::to_string(n));
  return Aml::raw({uint8_t(kArg0Op + n)});
}

Aml debug() {
  return Aml::raw({kExtOpPrefix, kDebugOp});
}

Aml call(std::string_view method, std::vector<Aml> args) {
  AmlBytes b = name_string(method);
  for (const Aml& a : args) a.encode_to(b);
  return Aml::raw(std::move(b));
}

// --- namespace modifiers and named objects

Aml scope(std::string_view path) {
  return Aml::block({kScopeOp}, name_string(path));
}

Aml device(std::string_view path) {
  return Aml::block({kExtOpPrefix, kDeviceOp}, name_string(path));
}

Aml method(std::string_view path, int nargs, bool serialized, int sync_level) {
  if (nargs < 0 || nargs > 7 || sync_level < 0 || sync_level > 15) aml_bug("bad method", path);
  AmlBytes fixed = name_string(path);
  fixed.push_back(uint8_t(nargs | (serialized ? 0x08 : 0) | (sync_level << 4)));
  return Aml::block({kMethodOp}, std::move(fixed));
}

Aml name_decl(std::string_view path, Aml value) {
  AmlBytes b{kNameOp};
  AmlBytes n = name_string(path);
  b.insert(b.end(), n.begin(), n.end());
  value.encode_to(b);
  return Aml::raw(std::move(b));
}

Aml operation_region(std::string_view path, RegionSpace space, Aml offset, Aml length) {
  AmlBytes b{kExtOpPrefix, kOpRegionOp};
  AmlBytes n = name_string(path);
  b.insert(b.end(), n.begin(), n.end());
  b.push_back(uint8_t(space));
  offset.encode_to(b);
  length.encode_to(b);
  return Aml::raw(std::move(b));
}

Aml field(std::string_view region, FieldAccess access, FieldLock lock, FieldUpdate update) {
  AmlBytes fixed = name_string(region);
  fixed.push_back(uint8_t(uint8_t(access) | (uint8_t(lock) << 4) | (uint8_t(update) << 5)));
  return Aml::block({kExtOpPrefix, kFieldOp}, std::move(fixed));
}

Aml named_field(std::string_view seg, size_t bits) {
  AmlBytes b;
  append_seg(b, seg, seg);
  AmlBytes len = pkg_length_value(bits);
  b.insert(b.end(), len.begin(), len.end());
  return Aml::raw(std::move(b));
}

Aml reserved_field(size_t bits) {
  AmlBytes b{0x00};
  AmlBytes len = pkg_length_value(bits);
  b.insert(b.end(), len.begin(), len.end());
  return Aml::raw(std::move(b));
}

namespace {
Aml create_field(uint8_t op, const Aml& src, const Aml& idx, std::string_view n) {
  AmlBytes b{op};
  src.encode_to(b);
  idx.encode_to(b);
  AmlBytes ns = name_string(n);
  b.insert(b.end(), ns.begin(), ns.end());
  return Aml::raw(std::move(b));
}
}  // namespace

Aml create_dword_field(Aml source_buffer, Aml byte_index, std::string_view n) {
  return create_field(kCreateDWordFieldOp, source_buffer, byte_index, n);
}

Aml create_qword_field(Aml source_buffer, Aml byte_index, std::string_view n) {
  return create_field(kCreateQWordFieldOp, source_buffer, byte_index, n);
}

// --- statements

Aml return_(Aml value) {
  return op1(kReturnOp, value);
}

Aml if_(Aml predicate) {
  return Aml::block({kIfOp}, bytes_of(predicate));
}

Aml else_() {
  return Aml::block({kElseOp}, {});
}

Aml while_(Aml predicate) {
  return Aml::block({kWhileOp}, bytes_of(predicate));
}

Aml store(Aml source, Aml target) {
  return op2(kStoreOp, source, target);
}

Aml notify(Aml object, Aml value) {
  return op2(kNotifyOp, object, value);
}

Aml mutex(std::string_view path, int sync_level) {
  if (sync_level < 0 || sync_level > 15) aml_bug("bad mutex", path);
  AmlBytes b{kExtOpPrefix, kMutexOp};
  AmlBytes n = name_string(path);
  b.insert(b.end(), n.begin(), n.end());
  b.push_back(uint8_t(sync_level));
  return Aml::raw(std::move(b));
}

Aml acquire(Aml mutex_object, uint16_t timeout) {
  AmlBytes b{kExtOpPrefix, kAcquireOp};
  mutex_object.encode_to(b);
  append_le(b, timeout, 2);
  return Aml::raw(std::move(b));
}

Aml release(Aml mutex_object) {
  AmlBytes b{kExtOpPrefix, kReleaseOp};
  mutex_object.encode_to(b);
  return Aml::raw(std::move(b));
}

// --- expressions

Aml lequal(Aml a, Aml b) {
  return op2(kLEqualOp, a, b);
}
Aml lnot(Aml a) {
  return op1(kLNotOp, a);
}
Aml lnot_equal(Aml a, Aml b) {
  return lnot(lequal(std::move(a), std::move(b)));
}
Aml land(Aml a, Aml b) {
  return op2(kLAndOp, a, b);
}
Aml lor(Aml a, Aml b) {
  return op2(kLOrOp, a, b);
}
Aml lgreater(Aml a, Aml b) {
  return op2(kLGreaterOp, a, b);
}
Aml lless(Aml a, Aml b) {
  return op2(kLLessOp, a, b);
}
Aml and_(Aml a, Aml b, Aml target) {
  return op_target(kAndOp, a, b, target);
}
Aml or_(Aml a, Aml b, Aml target) {
  return op_target(kOrOp, a, b, target);
}
Aml add(Aml a, Aml b, Aml target) {
  return op_target(kAddOp, a, b, target);
}
Aml subtract(Aml a, Aml b, Aml target) {
  return op_target(kSubtractOp, a, b, target);
}
Aml shift_left(Aml a, Aml count, Aml target) {
  return op_target(kShiftLeftOp, a, count, target);
}
Aml shift_right(Aml a, Aml count, Aml target) {
  return op_target(kShiftRightOp, a, count, target);
}
Aml increment(Aml target) {
  return op1(kIncrementOp, target);
}
Aml decrement(Aml target) {
  return op1(kDecrementOp, target);
}
Aml index(Aml source, Aml idx, Aml target) {
  return op_target(kIndexOp, source, idx, target);
}
Aml deref_of(Aml ref) {
  return op1(kDerefOfOp, ref);
}
Aml size_of(Aml obj) {
  return op1(kSizeOfOp, obj);
}

// --- resource descriptors

Aml resource_template() {
  return Aml::block({}, {}, Aml::Kind::ResourceTemplate);
}

Aml res_io(IoDecode decode, uint16_t min, uint16_t max, uint8_t align, uint8_t length) {
  AmlBytes b{kResIo, uint8_t(decode)};
  append_le(b, min, 2);
  append_le(b, max, 2);
  b.push_back(align);
  b.push_back(length);
  return Aml::raw(std::move(b));
}

Aml res_irq_noflags(uint16_t irq_mask) {
  AmlBytes b{kResIrqNoFlags};
  append_le(b, irq_mask, 2);
  return Aml::raw(std::move(b));
}

Aml res_interrupt(ResUsage usage, Trigger trigger, Polarity polarity, Sharing sharing,
                  const std::vector<uint32_t>& irqs) {
  if (irqs.empty() || irqs.size() > 255) aml_bug("Interrupt needs 1-255 IRQs", "");
  AmlBytes b{kResExtendedIrq};
  append_le(b, 2 + 4 * irqs.size(), 2);
  b.push_back(uint8_t(uint8_t(usage) | (uint8_t(trigger) << 1) | (uint8_t(polarity) << 2) |
                      (uint8_t(sharing) << 3)));
  b.push_back(uint8_t(irqs.size()));
  for (uint32_t irq : irqs) append_le(b, irq, 4);
  return Aml::raw(std::move(b));
}

Aml res_word_bus_number(ResUsage usage, uint16_t min, uint16_t max, uint16_t translation) {
  return address_space(kResWordAddress, 2, kAddrSpaceBus, addr_general_flags(usage), 0, min, max,
                       translation);
}

Aml res_word_io(ResUsage usage, uint16_t min, uint16_t max, uint16_t translation) {
  // Type-specific flags: _RNG = 3 (EntireRange).
  return address_space(kResWordAddress, 2, kAddrSpaceIo, addr_general_flags(usage), 0x03, min, max,
                       translation);
}

Aml res_dword_io(ResUsage usage, uint32_t min, uint32_t max, uint32_t translation) {
  return address_space(kResDWordAddress, 4, kAddrSpaceIo, addr_general_flags(usage), 0x03, min, max,
                       translation);
}

namespace {
uint8_t mem_flags(MemCache cache, bool read_write) {
  return uint8_t((read_write ? 1 : 0) | (uint8_t(cache) << 1));
}
}  // namespace

Aml res_dword_memory(ResUsage usage, MemCache cache, bool read_write, uint32_t min, uint32_t max,
                     uint32_t translation) {
  return address_space(kResDWordAddress, 4, kAddrSpaceMemory, addr_general_flags(usage),
                       mem_flags(cache, read_write), min, max, translation);
}

Aml res_qword_memory(ResUsage usage, MemCache cache, bool read_write, uint64_t min, uint64_t max,
                     uint64_t translation) {
  return address_space(kResQWordAddress, 8, kAddrSpaceMemory, addr_general_flags(usage),
                       mem_flags(cache, read_write), min, max, translation);
}

Aml res_memory32_fixed(bool read_write, uint32_t base, uint32_t length) {
  AmlBytes b{kResMemory32Fixed, 0x09, 0x00, uint8_t(read_write ? 1 : 0)};
  append_le(b, base, 4);
  append_le(b, length, 4);
  return Aml::raw(std::move(b));
}

}  // namespace aml

// --- tables

uint8_t acpi_checksum(const uint8_t* data, size_t len) {
  uint8_t sum = 0;
  for (size_t i = 0; i < len; ++i) sum = uint8_t(sum + data[i]);
  return uint8_t(-sum);
}

namespace {
void append_chars(AmlBytes& out, std::string_view s, size_t n) {
  if (s.size() != n) aml_bug("bad table id", s);
  out.insert(out.end(), s.begin(), s.end());
}
}  // namespace

AmlBytes acpi_table(std::string_view signature, uint8_t revision, const AmlBytes& body) {
  AmlBytes t;
  t.reserve(kAcpiTableHeaderSize + body.size());
  append_chars(t, signature, 4);
  append_le(t, kAcpiTableHeaderSize + body.size(), 4);
  t.push_back(revision);
  t.push_back(0);  // checksum, below
  append_chars(t, kAcpiOemId, 6);
  append_chars(t, kAcpiOemTableId, 8);
  append_le(t, kAcpiOemRevision, 4);
  append_chars(t, kAcpiCreatorId, 4);
  append_le(t, kAcpiCreatorRevision, 4);
  t.insert(t.end(), body.begin(), body.end());
  acpi_table_fix_checksum(t);
  return t;
}

void acpi_table_fix_checksum(AmlBytes& table) {
  table.at(9) = 0;
  table[9] = acpi_checksum(table.data(), table.size());
}

void append_gas(AmlBytes& out, GasSpace space, uint8_t bit_width, uint8_t bit_offset,
                GasAccess access, uint64_t address) {
  out.push_back(uint8_t(space));
  out.push_back(bit_width);
  out.push_back(bit_offset);
  out.push_back(uint8_t(access));
  append_le(out, address, 8);
}

}  // namespace machina
