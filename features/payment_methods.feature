@spend
Feature: Payment methods
  The agent lists the wallet's payment methods and sends the user to Link to
  add one.

  @PM-01
  Scenario: The wallet lists its payment methods with exactly one default
    Given a logged-in user with a default card
    When the agent runs "payment-methods list"
    Then it succeeds
    And the output lists 2 items
    And exactly one item has "is_default" equal to "true"
    And an item has "card_details.last4" equal to "4242"
    And Link received "GET /payment-details"

  @PM-02 @card
  Scenario: An empty wallet lists nothing and a card spend request fails clearly
    Given a logged-in user with an empty wallet
    When the agent runs "payment-methods list"
    Then it succeeds
    And the output lists 0 items
    When the agent runs "spend-request create --credential-type card --amount 1500 --merchant-name 'Example Times' --merchant-url https://times.example --context {context}"
    Then it fails with an error
    And no spend request was created at Link

  @PM-03
  Scenario: Adding a payment method gives an absolute URL where the user adds a card
    Given a logged-in user with a default card
    When the agent runs "payment-methods add"
    Then it succeeds
    When the user adds a visa card ending "1881" on the page the agent was given
    And the agent runs "payment-methods list"
    Then the output lists 3 items
    And an item has "card_details.last4" equal to "1881"

  @PM-04 @1x
  Scenario: A payment method is retrieved by id and renamed, and later lists show the nickname
    Given a logged-in user with a default card
    When the agent runs "payment-methods retrieve csmrpd_default_visa"
    Then it succeeds
    And the output field "card_details.last4" is "4242"
    When the agent runs "payment-methods update csmrpd_default_visa --nickname 'Travel card'"
    Then it succeeds
    And Link received "POST /payment-details/csmrpd_default_visa"
    When the agent runs "payment-methods list"
    Then an item has "nickname" equal to "Travel card"

  @PM-04 @1x @errors
  Scenario: An unknown payment method is not found
    Given a logged-in user with a default card
    When the agent runs "payment-methods retrieve csmrpd_unknown"
    Then it fails with "NOT_FOUND"
