#include "authz/cidr.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace tollgate::authz {
namespace {

engine::ip_address ip(std::string_view s) {
  auto a = parse_ip(s);
  EXPECT_TRUE(a.has_value()) << s;
  return a.value_or(engine::ip_address{});
}

ip_allowlist list(std::string_view s) {
  auto l = ip_allowlist::from_comma_list(s);
  EXPECT_TRUE(l.has_value()) << s;
  return l.value_or(ip_allowlist{});
}

// --- addresses ------------------------------------------------------------------

struct ip_case {
  std::string text;
  cidr_errc want;         // ok or the error
  std::string canonical;  // to_string() of the result when ok
};
class ParseIp : public testing::TestWithParam<ip_case> {};
TEST_P(ParseIp, Table) {
  const auto& c = GetParam();
  const auto a = parse_ip(c.text);
  if (c.want != cidr_errc::ok) {
    ASSERT_FALSE(a.has_value()) << c.text;
    EXPECT_EQ(a.error(), c.want);
    return;
  }
  ASSERT_TRUE(a.has_value()) << c.text;
  EXPECT_EQ(a->to_string(), c.canonical);
  EXPECT_EQ(parse_ip(a->to_string()), a);
}
INSTANTIATE_TEST_SUITE_P(
    InetPton, ParseIp,
    testing::Values(ip_case{"192.0.2.1", cidr_errc::ok, "192.0.2.1"},
                    ip_case{"0.0.0.0", cidr_errc::ok, "0.0.0.0"},
                    ip_case{"255.255.255.255", cidr_errc::ok, "255.255.255.255"},
                    ip_case{"::1", cidr_errc::ok, "::1"}, ip_case{"::", cidr_errc::ok, "::"},
                    ip_case{"2001:DB8:0:0:0:0:0:1", cidr_errc::ok, "2001:db8::1"},
                    ip_case{"2001:db8:0:1:1:1:1:1", cidr_errc::ok, "2001:db8:0:1:1:1:1:1"},
                    ip_case{"::ffff:192.0.2.1", cidr_errc::ok, "192.0.2.1"},
                    ip_case{"::ffff:c000:201", cidr_errc::ok, "192.0.2.1"},
                    ip_case{"", cidr_errc::bad_address, ""},
                    ip_case{"192.0.2", cidr_errc::bad_address, ""},
                    ip_case{"192.0.2.1.5", cidr_errc::bad_address, ""},
                    ip_case{"192.0.2.256", cidr_errc::bad_address, ""},
                    ip_case{"192.0.2.01", cidr_errc::bad_address, ""},
                    ip_case{"0x7f.0.0.1", cidr_errc::bad_address, ""},
                    ip_case{"127.1", cidr_errc::bad_address, ""},
                    ip_case{" 192.0.2.1", cidr_errc::bad_address, ""},
                    ip_case{"192.0.2.1 ", cidr_errc::bad_address, ""},
                    ip_case{std::string("192.0.2.1\0", 10), cidr_errc::bad_address, ""},
                    ip_case{"[::1]", cidr_errc::bad_address, ""},
                    ip_case{"fe80::1%eth0", cidr_errc::bad_address, ""},
                    ip_case{"1:2:3:4:5:6:7:8:9", cidr_errc::bad_address, ""},
                    ip_case{"1::2::3", cidr_errc::bad_address, ""},
                    ip_case{"12345::", cidr_errc::bad_address, ""},
                    ip_case{"192.0.2.1:80", cidr_errc::bad_address, ""},
                    ip_case{"unknown", cidr_errc::bad_address, ""},
                    ip_case{std::string(46, '1'), cidr_errc::bad_address, ""}));

TEST(ParseIp, MappedAndPlainIpv4AreTheSameAddress) {
  EXPECT_EQ(ip("::ffff:10.1.2.3"), ip("10.1.2.3"));
  EXPECT_TRUE(ip("10.1.2.3").is_v4);
  EXPECT_FALSE(ip("::10.1.2.3").is_v4);  // IPv4-compatible is not IPv4-mapped
}

// --- ranges ---------------------------------------------------------------------------

struct cidr_case {
  std::string text;
  cidr_errc want;
  std::string canonical;
};
class ParseCidr : public testing::TestWithParam<cidr_case> {};
TEST_P(ParseCidr, Table) {
  const auto& c = GetParam();
  const auto r = parse_cidr(c.text);
  if (c.want != cidr_errc::ok) {
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_EQ(r.error(), c.want) << c.text;
    return;
  }
  ASSERT_TRUE(r.has_value()) << c.text;
  EXPECT_EQ(format_cidr(*r), c.canonical);
  EXPECT_EQ(parse_cidr(format_cidr(*r)), r);
}
INSTANTIATE_TEST_SUITE_P(
    Strict, ParseCidr,
    testing::Values(cidr_case{"142.250.67.196", cidr_errc::ok, "142.250.67.196"},
                    cidr_case{"142.250.67.196/32", cidr_errc::ok, "142.250.67.196"},
                    cidr_case{"142.250.0.0/16", cidr_errc::ok, "142.250.0.0/16"},
                    cidr_case{"142.250.67.248/29", cidr_errc::ok, "142.250.67.248/29"},
                    cidr_case{"0.0.0.0/0", cidr_errc::ok, "0.0.0.0/0"},
                    cidr_case{"2001:db8::/32", cidr_errc::ok, "2001:db8::/32"},
                    cidr_case{"::/0", cidr_errc::ok, "::/0"},
                    cidr_case{"::1/128", cidr_errc::ok, "::1"},
                    cidr_case{"::ffff:10.0.0.0/104", cidr_errc::ok, "10.0.0.0/8"},
                    cidr_case{"::ffff:0:0/96", cidr_errc::ok, "0.0.0.0/0"},
                    cidr_case{"142.250.67.196/24", cidr_errc::host_bits_set, ""},
                    cidr_case{"10.0.0.1/8", cidr_errc::host_bits_set, ""},
                    cidr_case{"2001:db8::1/32", cidr_errc::host_bits_set, ""},
                    cidr_case{"10.0.0.0/33", cidr_errc::bad_prefix, ""},
                    cidr_case{"::/129", cidr_errc::bad_prefix, ""},
                    cidr_case{"::ffff:10.0.0.0/8", cidr_errc::host_bits_set, ""},
                    cidr_case{"10.0.0.0/", cidr_errc::bad_prefix, ""},
                    cidr_case{"10.0.0.0/08", cidr_errc::bad_prefix, ""},
                    cidr_case{"10.0.0.0/+8", cidr_errc::bad_prefix, ""},
                    cidr_case{"10.0.0.0/8 ", cidr_errc::bad_prefix, ""},
                    cidr_case{"10.0.0.0/0008", cidr_errc::bad_prefix, ""},
                    cidr_case{"10.0.0.0/8/8", cidr_errc::bad_prefix, ""},
                    cidr_case{"/8", cidr_errc::bad_address, ""},
                    cidr_case{"10.0.0/8", cidr_errc::bad_address, ""}));

TEST(CidrRange, ContainsAtTheEdges) {
  const auto r = *parse_cidr("142.250.67.248/29");
  EXPECT_FALSE(r.contains(ip("142.250.67.247")));
  EXPECT_TRUE(r.contains(ip("142.250.67.248")));
  EXPECT_TRUE(r.contains(ip("142.250.67.255")));
  EXPECT_FALSE(r.contains(ip("142.250.68.0")));
  EXPECT_TRUE(r.contains(ip("::ffff:142.250.67.250")));
  EXPECT_FALSE(r.contains(ip("::142.250.67.250")));
}

// --- lists ------------------------------------------------------------------------------

TEST(IpAllowlist, EmptyListAllowsNothing) {
  for (std::string_view blank : {"", "  ", "\t"}) {
    auto l = list(blank);
    EXPECT_TRUE(l.empty());
    EXPECT_FALSE(l.contains(ip("127.0.0.1")));
    EXPECT_FALSE(l.contains(ip("::")));
  }
  auto from_array = ip_allowlist::from_strings(std::span<const std::string>{});
  ASSERT_TRUE(from_array.has_value());
  EXPECT_FALSE(from_array->contains(ip("0.0.0.0")));
}

TEST(IpAllowlist, CommaSeparatedWithWhitespace) {
  auto l = list(" 142.250.67.196 ,142.250.0.0/16,\t2001:db8::/32 ");
  EXPECT_EQ(l.to_strings(),
            (std::vector<std::string>{"142.250.67.196", "142.250.0.0/16", "2001:db8::/32"}));
  EXPECT_TRUE(l.contains(ip("142.250.67.196")));
  EXPECT_TRUE(l.contains(ip("142.250.1.2")));
  EXPECT_TRUE(l.contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(l.contains(ip("142.251.0.1")));
  EXPECT_FALSE(l.contains(ip("2001:db9::1")));
}

TEST(IpAllowlist, ArrayForm) {
  std::vector<std::string> a = {"10.0.0.0/8", " ::1 "};
  auto l = ip_allowlist::from_strings(std::span<const std::string>(a));
  ASSERT_TRUE(l.has_value());
  EXPECT_TRUE(l->contains(ip("10.200.0.1")));
  EXPECT_TRUE(l->contains(ip("::1")));
  EXPECT_FALSE(l->contains(ip("::2")));
}

struct list_error_case {
  std::string text;
  cidr_errc code;
  std::size_t index;
};
class IpAllowlistErrors : public testing::TestWithParam<list_error_case> {};
TEST_P(IpAllowlistErrors, NameTheElement) {
  const auto& c = GetParam();
  auto l = ip_allowlist::from_comma_list(c.text);
  ASSERT_FALSE(l.has_value()) << c.text;
  EXPECT_EQ(l.error().code, c.code);
  EXPECT_EQ(l.error().index, c.index);
}
INSTANTIATE_TEST_SUITE_P(
    Lists, IpAllowlistErrors,
    testing::Values(list_error_case{"10.0.0.0/8,,::1", cidr_errc::empty_entry, 1},
                    list_error_case{"10.0.0.0/8,", cidr_errc::empty_entry, 1},
                    list_error_case{",", cidr_errc::empty_entry, 0},
                    list_error_case{"10.0.0.0/8, 300.0.0.1", cidr_errc::bad_address, 1},
                    list_error_case{"1.2.3.4 5.6.7.8", cidr_errc::bad_address, 0},
                    list_error_case{"::1, 10.0.0.1/8", cidr_errc::host_bits_set, 1}));

TEST(IpAllowlist, AllIpv6IncludesMappedIpv4) {
  EXPECT_TRUE(list("::/0").contains(ip("192.0.2.1")));
  EXPECT_FALSE(list("0.0.0.0/0").contains(ip("2001:db8::1")));
}

TEST(CidrErrc, EveryCodeHasAMessage) {
  for (auto e : {cidr_errc::ok, cidr_errc::empty_entry, cidr_errc::bad_address,
                 cidr_errc::bad_prefix, cidr_errc::host_bits_set, cidr_errc::bad_forwarded_for})
    EXPECT_FALSE(message_of(e).empty());
}

// --- client address ----------------------------------------------------------------------

struct client_case {
  std::string peer;
  std::string xff;
  std::string want;  // empty: bad_forwarded_for
};
class ClientAddress : public testing::TestWithParam<client_case> {};
TEST_P(ClientAddress, Table) {
  const auto& c = GetParam();
  const auto trusted = list("127.0.0.1/32, ::1/128, 10.0.0.0/8");
  const auto got = client_address(ip(c.peer), c.xff, trusted);
  if (c.want.empty()) {
    ASSERT_FALSE(got.has_value()) << c.xff;
    EXPECT_EQ(got.error(), cidr_errc::bad_forwarded_for);
  } else {
    ASSERT_TRUE(got.has_value()) << c.xff;
    EXPECT_EQ(*got, ip(c.want)) << c.xff;
  }
}
INSTANTIATE_TEST_SUITE_P(
    Design, ClientAddress,
    testing::Values(
        // an untrusted peer's header is ignored, whatever it says
        client_case{"203.0.113.9", "198.51.100.1", "203.0.113.9"},
        client_case{"203.0.113.9", "garbage", "203.0.113.9"},
        // a trusted peer: the rightmost untrusted element
        client_case{"127.0.0.1", "198.51.100.1", "198.51.100.1"},
        client_case{"127.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"},
        client_case{"127.0.0.1", "6.6.6.6, 198.51.100.1, 10.1.1.1", "198.51.100.1"},
        client_case{"::1", "2001:db8::7 , 10.0.0.2,\t10.0.0.3", "2001:db8::7"},
        client_case{"::ffff:127.0.0.1", "198.51.100.1", "198.51.100.1"},
        // the client's own forgery left of the real entry is never read
        client_case{"127.0.0.1", "not-an-ip, 198.51.100.1", "198.51.100.1"},
        // no header, or only trusted hops: the leftmost trusted hop
        client_case{"127.0.0.1", "", "127.0.0.1"},
        client_case{"127.0.0.1", " , ,", "127.0.0.1"},
        client_case{"127.0.0.1", "10.0.0.5, 10.0.0.6", "10.0.0.5"},
        // an element that must be read and is not an address
        client_case{"127.0.0.1", "198.51.100.1:4711", ""},
        client_case{"127.0.0.1", "[2001:db8::1]", ""},
        client_case{"127.0.0.1", "unknown", ""},
        client_case{"127.0.0.1", "1.2.3.4, garbage, 10.0.0.1", ""}));

}  // namespace
}  // namespace tollgate::authz
