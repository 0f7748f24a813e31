"""Signed credentials: every certificate SkillFlow issues as a W3C Verifiable Credential
(data model 2.0) in the Open Badges 3.0 shape, secured with a Data Integrity proof
(``eddsa-rdfc-2022``, Ed25519), its revocation in a Bitstring Status List, and the
issuer keys published as ``did:web`` documents."""
