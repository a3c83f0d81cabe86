// Codecs for inet, cidr and macaddr.
#include <cstring>

#include "matrx/orm/errors.hpp"
#include "matrx/orm/pg/codec.hpp"

namespace matrx::orm::pg {

namespace {
// Binary inet/cidr: family (2 = IPv4, 3 = IPv6), prefix bits, is_cidr, address length, bytes.
constexpr char pg_af_inet = 2, pg_af_inet6 = 3;

void ip_to_binary(const orm::detail::IpNetwork& n, bool cidr, std::string& out) {
  const std::size_t len = n.family == 6 ? 16 : 4;
  out.push_back(n.family == 6 ? pg_af_inet6 : pg_af_inet);
  out.push_back(static_cast<char>(n.prefix_length));
  out.push_back(cidr ? 1 : 0);
  out.push_back(static_cast<char>(len));
  out.append(reinterpret_cast<const char*>(n.address.data()), len);
}

orm::detail::IpNetwork ip_from_binary(std::string_view d, std::string_view type, Oid c) {
  if (d.size() < 4) detail::throw_decode_error(type, c, "truncated address");
  orm::detail::IpNetwork n;
  n.family = d[0] == pg_af_inet6 ? 6 : 4;
  n.prefix_length = static_cast<std::uint8_t>(d[1]);
  const auto len = static_cast<std::size_t>(static_cast<unsigned char>(d[3]));
  if (len != (n.family == 6 ? 16u : 4u) || d.size() != 4 + len) detail::throw_decode_error(type, c, "malformed address");
  std::memcpy(n.address.data(), d.data() + 4, len);
  return n;
}
}  // namespace

void Codec<Inet>::to_text(const Inet& v, std::string& out) { out.append(v.to_string()); }
void Codec<Inet>::to_binary(const Inet& v, std::string& out) { ip_to_binary(v, false, out); }
Inet Codec<Inet>::from_text(std::string_view t, Oid) { return Inet::parse(t); }
Inet Codec<Inet>::from_binary(std::string_view d, Oid c) {
  Inet i;
  static_cast<orm::detail::IpNetwork&>(i) = ip_from_binary(d, "Inet", c);
  return i;
}
bool Codec<Inet>::accepts(Oid c) noexcept { return c == oid::inet || c == oid::cidr; }

void Codec<Cidr>::to_text(const Cidr& v, std::string& out) { out.append(v.to_string()); }
void Codec<Cidr>::to_binary(const Cidr& v, std::string& out) { ip_to_binary(v, true, out); }
Cidr Codec<Cidr>::from_text(std::string_view t, Oid) { return Cidr::parse(t); }
Cidr Codec<Cidr>::from_binary(std::string_view d, Oid c) {
  Cidr i;
  static_cast<orm::detail::IpNetwork&>(i) = ip_from_binary(d, "Cidr", c);
  return i;
}
bool Codec<Cidr>::accepts(Oid c) noexcept { return c == oid::cidr || c == oid::inet; }

void Codec<MacAddr>::to_text(const MacAddr& v, std::string& out) { out.append(v.to_string()); }
void Codec<MacAddr>::to_binary(const MacAddr& v, std::string& out) {
  out.append(reinterpret_cast<const char*>(v.bytes.data()), 6);
}
MacAddr Codec<MacAddr>::from_text(std::string_view t, Oid) { return MacAddr::parse(t); }
MacAddr Codec<MacAddr>::from_binary(std::string_view d, Oid c) {
  if (d.size() != 6) detail::throw_decode_error("MacAddr", c, "expected 6 bytes");
  MacAddr m;
  std::memcpy(m.bytes.data(), d.data(), 6);
  return m;
}
bool Codec<MacAddr>::accepts(Oid c) noexcept { return c == oid::macaddr; }

}  // namespace matrx::orm::pg
