//! The `u8` codes records store instead of enums, and the enums their getters return.
//!
//! Each enum's discriminant IS its wire code: changing one is an ABI break. `from_code` returns
//! `None` for a code this ABI version does not know; the reader refuses such an image, so on a
//! validated image every getter returns `Some`.

macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $code,)+
        }

        impl $name {
            /// Every variant, in code order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Decodes a wire code; `None` if this ABI version does not know it.
            pub const fn from_code(code: u8) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The wire code of this variant.
            pub const fn code(self) -> u8 {
                self as u8
            }
        }
    };
}

code_enum! {
    /// Address family of an `[u8; 16]` address field.
    Family {
        /// IPv4: the first four bytes, the rest zero.
        V4 = 4,
        /// IPv6: all sixteen bytes.
        V6 = 6,
    }
}

code_enum! {
    /// Transport protocol of an L4 service (IANA protocol numbers).
    Protocol {
        /// TCP.
        Tcp = 6,
        /// UDP.
        Udp = 17,
    }
}

code_enum! {
    /// How an L4 service forwards packets to a backend.
    L4Mode {
        /// Full NAT: rewrite both addresses, replies come back through the balancer.
        FullNat = 0,
        /// Direct server return: rewrite the destination MAC only.
        Dsr = 1,
        /// IP-in-IP encapsulation.
        Ipip = 2,
        /// Generic UDP encapsulation.
        Gue = 3,
    }
}

code_enum! {
    /// What an L7 listener speaks.
    ListenerProtocol {
        /// Plain HTTP/1.1 and h2c.
        Http = 0,
        /// HTTP over TLS.
        Https = 1,
        /// TLS streams routed by SNI.
        Tls = 2,
        /// Plain TCP streams.
        Tcp = 3,
    }
}

code_enum! {
    /// What a listener does with TLS.
    TlsMode {
        /// No TLS.
        None = 0,
        /// Terminate TLS with the listener's certificates.
        Terminate = 1,
        /// Pass TLS through, routing on the ClientHello SNI.
        Passthrough = 2,
    }
}

code_enum! {
    /// How a virtual host's hostname matches the request authority.
    HostKind {
        /// The hostname equals the authority (lower-case, without port).
        Exact = 0,
        /// The hostname is a suffix starting with `.` (from `*.suffix`); at least one label
        /// must precede it.
        Wildcard = 1,
        /// Any authority; the hostname is empty.
        Any = 2,
    }
}

code_enum! {
    /// How a route matches the request path.
    PathMatch {
        /// Any path; the path string is empty.
        Any = 0,
        /// The path equals the string.
        Exact = 1,
        /// The path starts with the string.
        Prefix = 2,
        /// The path matches the string as a regular expression.
        Regex = 3,
    }
}

code_enum! {
    /// What a route does with a matching request.
    RouteAction {
        /// Forward to one of the weighted backends.
        Forward = 0,
        /// Answer with a redirect.
        Redirect = 1,
        /// Answer directly with a status and a body.
        Direct = 2,
    }
}

code_enum! {
    /// Which part of the request a `Match` looks at.
    MatchTarget {
        /// A request header (name compared case-insensitively).
        Header = 0,
        /// A query parameter.
        Query = 1,
    }
}

code_enum! {
    /// How a `Match` compares the value.
    MatchKind {
        /// Equal to the value.
        Exact = 0,
        /// Starts with the value.
        Prefix = 1,
        /// Matches the value as a regular expression.
        Regex = 2,
        /// Present, whatever its value (the value string is empty).
        Present = 3,
    }
}

code_enum! {
    /// Which message a `HeaderMod` changes.
    ModDirection {
        /// The request sent upstream.
        Request = 0,
        /// The response sent downstream.
        Response = 1,
    }
}

code_enum! {
    /// What a `HeaderMod` does.
    HeaderOp {
        /// Replace every value of the header with the value.
        Set = 0,
        /// Append the value.
        Add = 1,
        /// Remove the header (the value string is empty).
        Remove = 2,
    }
}

code_enum! {
    /// Load-balancing policy of a cluster.
    LbPolicy {
        /// Weighted round robin.
        RoundRobin = 0,
        /// Least outstanding requests of two random choices.
        LeastRequest = 1,
        /// Consistent hashing on a ring (uses the cluster's Maglev table in this ABI).
        RingHash = 2,
        /// Maglev consistent hashing.
        Maglev = 3,
        /// Weighted random.
        Random = 4,
    }
}

code_enum! {
    /// What a hashing cluster hashes.
    HashOn {
        /// Nothing (policy is not hash based).
        None = 0,
        /// The value of the header named by the key.
        Header = 1,
        /// The value of the cookie named by the key.
        Cookie = 2,
        /// The client source address.
        SourceIp = 3,
    }
}

code_enum! {
    /// Protocol spoken to a cluster's endpoints.
    UpstreamProtocol {
        /// HTTP/1.1.
        Http1 = 0,
        /// HTTP/2.
        Http2 = 1,
    }
}
