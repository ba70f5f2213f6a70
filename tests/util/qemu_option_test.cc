#include "util/qemu-option.h"

#include <gtest/gtest.h>

namespace machina {
namespace {

OptsListSpec Any(const char* name, const char* implied) {
  OptsListSpec s;
  s.name = name;
  s.implied_key = implied;
  return s;
}

OptsListSpec Mem() {
  OptsListSpec s;
  s.name = "memory";
  s.implied_key = "size";
  s.merge_lists = true;
  s.desc = {{"size", OptType::Size}, {"slots", OptType::Number}, {"maxmem", OptType::Size}};
  return s;
}

TEST(QemuOptsTest, ImpliedFirstKeyAndOrder) {
  auto r = qemu_opts_parse(Any("device", "driver"), "virtio-blk-pci,drive=d0,id=disk0");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->id, "disk0");
  ASSERT_EQ(r->opts.size(), 2u);
  EXPECT_EQ(r->opts[0], (QemuOpt{"driver", "virtio-blk-pci"}));
  EXPECT_EQ(r->opts[1], (QemuOpt{"drive", "d0"}));
  EXPECT_FALSE(r->help);
}

TEST(QemuOptsTest, ImpliedKeyOnlyWhenPermitted) {
  auto r = qemu_opts_parse(Any("device", "driver"), "foo", false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->get("foo"), "on");
  EXPECT_FALSE(r->has("driver"));
}

TEST(QemuOptsTest, DoubleCommaIsLiteral) {
  auto r = qemu_opts_parse(Any("drive", ""), "file=a,,b.img,if=none", false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->get("file"), "a,b.img");
  EXPECT_EQ(*r->get("if"), "none");
  auto r2 = qemu_opts_parse(Any("device", "driver"), "x,,y,p=1");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(*r2->get("driver"), "x,y");
  EXPECT_EQ(r2->to_string(), "driver=x,,y,p=1");
}

TEST(QemuOptsTest, DuplicatesKeptLastWins) {
  auto r = qemu_opts_parse(Any("device", "driver"), "d,a=1,a=2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->count("a"), 2u);
  EXPECT_EQ(*r->get("a"), "2");
}

TEST(QemuOptsTest, ShortFormBooleansWarn) {
  auto r = qemu_opts_parse(Any("chardev", "backend"), "socket,server,nowait");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->get("server"), "on");
  EXPECT_EQ(*r->get("wait"), "off");
  ASSERT_EQ(r->warnings.size(), 2u);
  EXPECT_EQ(r->warnings[0],
            "short-form boolean option 'server' deprecated\nPlease use server=on instead");
  EXPECT_EQ(r->warnings[1],
            "short-form boolean option 'nowait' deprecated\nPlease use wait=off instead");
}

TEST(QemuOptsTest, BooleanValues) {
  OptsListSpec s;
  s.name = "x";
  s.desc = {{"b", OptType::Bool}};
  for (const char* v : {"on", "off", "yes", "no", "true", "false"}) {
    auto r = qemu_opts_parse(s, std::string("b=") + v);
    ASSERT_TRUE(r.ok()) << v;
    auto b = r->get_bool("b", false);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b.value(),
              std::string(v) == "on" || std::string(v) == "yes" || std::string(v) == "true");
  }
  auto bad = qemu_opts_parse(s, "b=maybe");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "Parameter 'b' expects 'on' or 'off'");
}

TEST(QemuOptsTest, InvalidParameterAndTypes) {
  auto r = qemu_opts_parse(Mem(), "1G,x=1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "Invalid parameter 'x'");
  auto n = qemu_opts_parse(Mem(), "slots=abc");
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.message(), "Parameter 'slots' expects a number");
  auto big = qemu_opts_parse(Mem(), "slots=99999999999999999999999");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.message(), "Value '99999999999999999999999' is too large for parameter 'slots'");
  auto sz = qemu_opts_parse(Mem(), "foo");
  ASSERT_FALSE(sz.ok());
  EXPECT_TRUE(sz.message().starts_with(
      "Parameter 'size' expects a non-negative number below 2^64\nOptional suffix k, M, G"));
  auto ok = qemu_opts_parse(Mem(), "2G,maxmem=4G,slots=2");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->get_size("size", 0).value(), 2ull << 30);
  EXPECT_EQ(ok->get_number("slots", 0).value(), 2u);
}

TEST(QemuOptsTest, IdMustBeIdentifier) {
  auto r = qemu_opts_parse(Any("device", "driver"), "e1000,id=0bad");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.message().starts_with("Parameter 'id' expects an identifier"));
  auto e = qemu_opts_parse(Any("device", "driver"), "e1000,id=");
  EXPECT_FALSE(e.ok());
  EXPECT_TRUE(id_wellformed("a-b.c_d9"));
  EXPECT_FALSE(id_wellformed("a b"));
}

TEST(QemuOptsTest, HelpDetection) {
  // Lists with a description stop at help.
  auto m = qemu_opts_parse(Mem(), "slots=1,help");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->help);
  auto q = qemu_opts_parse(Mem(), "slots=1,?");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->help);
  // Lists accepting anything keep help=on and flag it.
  auto d = qemu_opts_parse(Any("device", "driver"), "e1000,help");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->help);
  EXPECT_EQ(*d->get("driver"), "e1000");
  auto n = qemu_opts_parse(Any("device", "driver"), "e1000");
  ASSERT_TRUE(n.ok());
  EXPECT_FALSE(n->help);
}

TEST(QemuOptsGroupTest, DuplicateIdRefused) {
  QemuOptsGroup g(Any("chardev", "backend"));
  ASSERT_TRUE(g.add("null,id=x").ok());
  auto r = g.add("stdio,id=x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "Duplicate ID 'x' for chardev");
  ASSERT_TRUE(g.add("stdio,id=y").ok());
  ASSERT_TRUE(g.add("stdio").ok());
  ASSERT_TRUE(g.add("stdio").ok());  // no id: never a duplicate
  EXPECT_EQ(g.all().size(), 4u);
  ASSERT_NE(g.find("y"), nullptr);
  EXPECT_EQ(*g.find("y")->get("backend"), "stdio");
}

TEST(QemuOptsGroupTest, MergeLists) {
  QemuOptsGroup g(Mem());
  ASSERT_TRUE(g.add("1G").ok());
  ASSERT_TRUE(g.add("slots=4").ok());
  ASSERT_EQ(g.all().size(), 1u);
  EXPECT_EQ(*g.all()[0].get("size"), "1G");
  EXPECT_EQ(*g.all()[0].get("slots"), "4");
}

TEST(KeyvalTest, ImpliedKeyDotsAndReplace) {
  auto r = keyval_parse("q35,accel=tcg,a.b=1,accel=kvm", "type");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(*r->get("type"), "q35");
  EXPECT_EQ(*r->get("a.b"), "1");
  EXPECT_EQ(r->count("accel"), 1u);
  EXPECT_EQ(*r->get("accel"), "kvm");
  auto esc = keyval_parse("x=a,,b", "");
  ASSERT_TRUE(esc.ok());
  EXPECT_EQ(*esc->get("x"), "a,b");
}

TEST(KeyvalTest, Errors) {
  auto r = keyval_parse("q35,foo", "type");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "Expected '=' after parameter 'foo'");
  auto i = keyval_parse("1abc=2", "");
  ASSERT_FALSE(i.ok());
  EXPECT_EQ(i.message(), "Invalid parameter '1abc'");
  auto inc = keyval_parse("a=1,a.b=2", "");
  ASSERT_FALSE(inc.ok());
  EXPECT_EQ(inc.message(), "Parameters 'a.*' used inconsistently");
  auto lng = keyval_parse(std::string(130, 'a') + "=1", "");
  ASSERT_FALSE(lng.ok());
  EXPECT_EQ(lng.message(), "Parameter '" + std::string(130, 'a') + "' is too long");
}

TEST(KeyvalTest, Help) {
  auto r = keyval_parse("help", "type");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->help);
  auto r2 = keyval_parse("pc,?", "type");
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE(r2->help);
  EXPECT_EQ(*r2->get("type"), "pc");
}

}  // namespace
}  // namespace machina
