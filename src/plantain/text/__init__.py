"""Text parts of answers: what accompanies an image, text-only replies, and storyboard plans."""
