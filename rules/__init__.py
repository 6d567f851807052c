"""The pure decision core: legal time, policy as data, listing state, obligations."""
