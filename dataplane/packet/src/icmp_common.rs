//! Header layout shared by ICMPv4 (RFC 792) and ICMPv6 (RFC 4443), and the macro that gives
//! [`crate::icmp::Packet`] and [`crate::icmpv6::Packet`] their common accessors.
//!
//! # Invariants
//! * Both versions use one 8-byte header: type (byte 0), code (1), checksum (2–3), then four
//!   bytes whose meaning depends on the type (echo identifier/sequence, MTU, unused).
//! * [`icmp_packet!`] defines only what is identical in both versions: the view struct, the
//!   length check, the type/code/checksum fields, the echo fields and the payload. Message-type
//!   numbers, type-specific accessors and the checksum computation (ICMPv6 adds the IPv6
//!   pseudo-header) stay in each version's module.
//! * The macro body names `HEADER_LEN` and `msg_type` without a path: they resolve in the
//!   invoking module, so each version supplies its own. Everything else is `$crate`-qualified.

/// Offset of the message type.
pub(crate) const TYPE: usize = 0;
/// Offset of the message code.
pub(crate) const CODE: usize = 1;
/// Offset of the checksum.
pub(crate) const CHECKSUM: usize = 2;
/// Offset of the echo identifier (first of the four type-specific bytes).
pub(crate) const IDENT: usize = 4;
/// Offset of the echo sequence number.
pub(crate) const SEQ: usize = 6;

/// Defines `Packet<T>` in the invoking module with the accessors common to both ICMP versions;
/// `$version` (e.g. `"ICMPv4"`) only names the version in the struct's doc comment.
macro_rules! icmp_packet {
    ($version:literal) => {
        $crate::view::view!(
            Packet,
            concat!("Zero-copy view of an ", $version, " message.")
        );

        impl<T: AsRef<[u8]>> Packet<T> {
            /// [`DropReason::BadIcmp`](crate::DropReason::BadIcmp) if the buffer is shorter
            /// than the 8-byte header.
            pub fn check_len(&self) -> Result<(), $crate::DropReason> {
                if self.buffer.as_ref().len() < HEADER_LEN {
                    return Err($crate::DropReason::BadIcmp);
                }
                Ok(())
            }

            /// Message type (see [`msg_type`]).
            pub fn msg_type(&self) -> u8 {
                self.buffer.as_ref()[$crate::icmp_common::TYPE]
            }

            /// Message code.
            pub fn msg_code(&self) -> u8 {
                self.buffer.as_ref()[$crate::icmp_common::CODE]
            }

            /// Checksum field.
            pub fn checksum(&self) -> u16 {
                $crate::field::u16_at(self.buffer.as_ref(), $crate::icmp_common::CHECKSUM)
            }

            /// True for echo request or reply, whose identifier/sequence fields are meaningful.
            pub fn is_echo(&self) -> bool {
                matches!(
                    self.msg_type(),
                    msg_type::ECHO_REQUEST | msg_type::ECHO_REPLY
                )
            }

            /// Echo identifier (bytes 4–5; meaningful only if [`Packet::is_echo`]).
            pub fn echo_ident(&self) -> u16 {
                $crate::field::u16_at(self.buffer.as_ref(), $crate::icmp_common::IDENT)
            }

            /// Echo sequence number (bytes 6–7; meaningful only if [`Packet::is_echo`]).
            pub fn echo_seq_no(&self) -> u16 {
                $crate::field::u16_at(self.buffer.as_ref(), $crate::icmp_common::SEQ)
            }

            /// Data after the 8-byte header (echo data, or the quoted invoking packet).
            pub fn payload(&self) -> &[u8] {
                &self.buffer.as_ref()[HEADER_LEN..]
            }
        }

        impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
            /// Sets the message type.
            pub fn set_msg_type(&mut self, value: u8) {
                self.buffer.as_mut()[$crate::icmp_common::TYPE] = value;
            }

            /// Sets the message code.
            pub fn set_msg_code(&mut self, value: u8) {
                self.buffer.as_mut()[$crate::icmp_common::CODE] = value;
            }

            /// Sets the echo identifier.
            pub fn set_echo_ident(&mut self, value: u16) {
                $crate::field::set_u16(self.buffer.as_mut(), $crate::icmp_common::IDENT, value);
            }

            /// Stores a checksum value as is.
            pub fn set_checksum(&mut self, csum: u16) {
                $crate::field::set_u16(self.buffer.as_mut(), $crate::icmp_common::CHECKSUM, csum);
            }
        }
    };
}

pub(crate) use icmp_packet;
