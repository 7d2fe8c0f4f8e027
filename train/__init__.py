"""Teach officescore your office: fine-tune its detector on your own labelled photos (torch)."""
